// Writing: the composer (Enter sends, Shift+Enter a new line, it grows
// with its lines), sends through the client (pending, then stored or
// refused with "retry"), and who is typing. Loaded after app.js, whose
// state and helpers it uses.
"use strict";

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = $("body").value;
  if (!body.trim() || !state.current) return;
  const extras = composeTarget(state.current, body);
  $("body").value = "";
  fitComposer($("body"));
  if (extras) {
    sendText(state.current, body, extras);
    scrollToBottom();
  }
});

/**
 * Sends through the client: shown at once as pending, retried with its
 * client_id on every connection (and after a reload, from IndexedDB) until
 * stored. `extras`: a reply's `reply_to`, a thread reply's `thread_root`.
 */
function sendText(cid, body, extras = {}) {
  state.client.send(cid, { body, ...extras });
}

/** The sends of `cid` not stored yet, pending or refused, in the main list (`root` undefined) or a thread. */
function outgoing(cid, root) {
  const sends = [...(state.client ? state.client.pending() : []), ...state.failed.values()];
  return sends.filter(
    (send) => send.frame.type === "send" && send.conversationId === cid && (send.frame.thread_root ?? undefined) === root,
  );
}

/** A send not stored: "sending…", or refused for good with the reason, "retry" and "discard". */
function outgoingItem(send) {
  const item = messageItem({ sender: state.me, body: send.frame.body, created_at: new Date().toISOString() }, []);
  item.dataset.clientId = send.clientId;
  const meta = item.querySelector(".meta");
  if (send.state.state !== "failed") {
    item.classList.add("pending");
    meta.textContent = state.online ? "Sending…" : "Waiting for the connection…";
    return item;
  }
  item.classList.add("failed");
  const failure = document.createElement("div");
  failure.className = "failure";
  failure.setAttribute("role", "alert");
  failure.append(`Not sent: ${send.state.error.message}`);
  const retry = document.createElement("button");
  retry.type = "button";
  retry.textContent = "Retry";
  retry.addEventListener("click", () => {
    state.failed.delete(send.clientId);
    state.client.retry(send);
  });
  const discard = document.createElement("button");
  discard.type = "button";
  discard.className = "ghost small";
  discard.textContent = "Discard";
  discard.addEventListener("click", () => {
    state.failed.delete(send.clientId);
    redraw(send.conversationId);
  });
  failure.append(retry, discard);
  meta.replaceWith(failure);
  return item;
}

function onSettled(send) {
  const outcome = send.state;
  if (outcome.state === "sent") {
    if (outcome.message) addMessage(outcome.message);
  } else if (send.frame.type === "send") {
    state.failed.set(send.clientId, send);
  } else {
    toast(outcome.error.message);
  }
  redraw(send.conversationId);
}

/** The composer grows with its text, up to a few lines, then scrolls. */
function fitComposer(textarea) {
  textarea.style.height = "";
  if (!textarea.value) return; // one line, as the style sheet has it
  const borders = textarea.offsetHeight - textarea.clientHeight;
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight + borders, 160)}px`;
}

$("body").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("body").addEventListener("input", () => {
  fitComposer($("body"));
  if (state.current) state.client.typing(state.current);
});

function showTyping(cid, user) {
  if (!state.typing.has(cid)) state.typing.set(cid, new Map());
  const users = state.typing.get(cid);
  clearTimeout(users.get(user));
  users.set(user, setTimeout(() => {
    users.delete(user);
    renderTyping();
  }, 3500));
  renderTyping();
}

function stopTyping(cid, user) {
  const users = state.typing.get(cid);
  if (!users || !users.has(user)) return;
  clearTimeout(users.get(user));
  users.delete(user);
  renderTyping();
}

function renderTyping() {
  const users = state.typing.get(state.current);
  const names = users ? [...users.keys()] : [];
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}
