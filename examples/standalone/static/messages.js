// The open conversation: opening it (its latest page, then older ones as
// the list scrolls up), its header, and the message list drawn with days,
// groups, notices, the unread divider and the sends not stored yet; new
// messages applied once by seq, and the read mark for what was seen.
// Loaded after app.js, whose state and helpers it uses.
"use strict";

function messagesOf(cid) {
  if (!state.messages.has(cid)) state.messages.set(cid, new Map());
  return state.messages.get(cid);
}

function lastSeq(cid) {
  const messages = state.messages.get(cid);
  if (!messages || messages.size === 0) return 0;
  return Math.max(...messages.keys());
}

async function openConversation(cid) {
  const again = state.current === cid;
  state.current = cid;
  if (!again) placeDivider(cid);
  $("app").classList.add("in-chat");
  $("new-pill").hidden = true;
  renderConversations();
  $("empty").hidden = true;
  $("chat-head").hidden = false;
  $("messages").hidden = false;
  $("composer").hidden = false;
  showHeader(cid);
  if (!state.loaded.has(cid)) {
    try {
      const page = await api("GET", `conversations/${cid}/messages`);
      if (state.current !== cid) return; // switched away, or left, meanwhile
      page.messages.forEach((m) => messagesOf(cid).set(m.seq, m));
      state.hasOlder.set(cid, page.has_more);
      state.loaded.add(cid);
      loadPins(cid);
    } catch (error) {
      toast(error.message);
    }
  }
  if (state.current !== cid) return;
  loadReadMarks(cid);
  renderMessages(true);
  const divider = document.getElementById("unread-divider");
  if (divider && !again) divider.scrollIntoView({ block: "start" });
  markSeen();
  $("body").focus();
}

/** Back to the list (a phone shows one pane at a time). */
function showList() {
  $("app").classList.remove("in-chat");
  const item = document.querySelector(`.conversations li[data-id="${CSS.escape(state.current || "")}"]`);
  if (item) item.focus();
}

function showHeader(cid) {
  if (timeline.thread && timeline.thread.cid !== cid) closeThread();
  renderTyping();
  const summary = state.conversations.get(cid);
  $("chat-title").textContent = summary ? conversationName(summary) : "";
  $("chat-members").textContent = summary ? summary.members.map(displayName).join(", ") : "";
  $("chat-presence").textContent = presenceLine(directPeer(summary));
  $("leave").hidden = !summary || summary.kind !== "group";
  showModeration(cid);
  showPreferences(cid);
}

// Whether a page came.
async function loadOlder() {
  const cid = state.current;
  if (!cid || !state.hasOlder.get(cid)) return false;
  const first = Math.min(...messagesOf(cid).keys());
  $("older").hidden = false;
  try {
    const page = await api("GET", `conversations/${cid}/messages?before=${first}`);
    const box = $("messages");
    const fromBottom = box.scrollHeight - box.scrollTop;
    page.messages.forEach((m) => messagesOf(cid).set(m.seq, m));
    state.hasOlder.set(cid, page.has_more);
    renderMessages(false);
    box.scrollTop = box.scrollHeight - fromBottom;
    return true;
  } catch (error) {
    toast(error.message);
    return false;
  } finally {
    $("older").hidden = true;
  }
}

$("messages").addEventListener("scroll", () => {
  if ($("messages").scrollTop < 40) loadOlder();
});
$("back").addEventListener("click", showList);

function seenBy(cid, seq) {
  const marks = state.readMarks.get(cid);
  if (!marks) return [];
  return [...marks.entries()].filter(([user, mark]) => user !== state.me && mark >= seq).map(([user]) => user);
}

function renderMessages(scrollToEnd) {
  const cid = state.current;
  const list = $("message-list");
  const box = $("messages");
  const wasAtBottom = atBottom();
  list.replaceChildren();
  const sorted = [...messagesOf(cid).values()].sort((a, b) => a.seq - b.seq);
  const myLast = sorted.filter((m) => m.sender === state.me).pop();
  const notices = [...(state.notices.get(cid) || [])];
  const noticesUpTo = (seq) => {
    while (notices.length && notices[0].after <= seq) {
      const notice = document.createElement("li");
      notice.className = "notice";
      notice.textContent = notices.shift().text;
      list.append(notice);
    }
  };
  const unreadAfter = dividerAfter(cid);
  let divided = unreadAfter === undefined;
  let day = null;
  let previous = null;
  for (const message of sorted) {
    const noticesBefore = list.childElementCount;
    noticesUpTo(message.seq - 1);
    if (list.childElementCount !== noticesBefore) previous = null;
    const label = dayLabel(message.created_at);
    if (label !== day) {
      day = label;
      previous = null;
      const separator = document.createElement("li");
      separator.className = "day";
      separator.textContent = label;
      list.append(separator);
    }
    if (!divided && message.seq > unreadAfter && message.sender !== state.me) {
      divided = true;
      previous = null;
      const divider = document.createElement("li");
      divider.className = "divider";
      divider.id = "unread-divider";
      divider.textContent = "New messages";
      list.append(divider);
    }
    const item = messageItem(message, myLast && message.seq === myLast.seq ? seenBy(cid, message.seq) : []);
    if (continuesGroup(previous, message)) {
      item.classList.add("grouped");
      // The group's time shows once, under its last message, unless there is more to say.
      const meta = list.lastElementChild.querySelector(":scope > .meta");
      if (meta && meta.textContent === formatTime(previous.created_at)) list.lastElementChild.classList.add("continued");
    }
    list.append(item);
    previous = message;
  }
  noticesUpTo(Infinity);
  for (const send of outgoing(cid, undefined)) list.append(outgoingItem(send));
  if (scrollToEnd || wasAtBottom) box.scrollTop = box.scrollHeight;
  renderPins();
  revealHit();
  if (box.scrollHeight <= box.clientHeight) loadOlder();
}

function messageItem(message, seen) {
  const mine = message.sender === state.me;
  const item = document.createElement("li");
  item.className = `msg${mine ? " mine" : ""}`;
  const summary = state.conversations.get(state.current);
  if (!mine && summary && summary.kind === "group") {
    const sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = displayName(message.sender);
    item.append(sender);
  }
  if (message.seq) item.dataset.seq = message.seq;
  if (message.reply_to && !message.deleted) item.append(replyQuote(message));
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.deleted) {
    item.classList.add("deleted");
    bubble.textContent = "This message was deleted";
  } else {
    bubble.append(linkify(message.body));
    if (message.content) bubble.append(contentView(message.content));
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  const pinned = message.seq && timeline.pins.get(message.conversation_id)?.has(message.seq);
  meta.textContent =
    formatTime(message.created_at) +
    (message.edited_at && !message.deleted ? " · edited" : "") +
    (pinned ? " · 📌 pinned" : "") +
    (seen.length ? ` · Seen by ${seen.join(", ")}` : "");
  item.append(bubble, meta);
  if (message.seq) messageExtras(message, item);
  return item;
}

// Structured content under the text: an attachment as a link, buttons as
// chips, anything else as its kind. Built with textContent: no HTML from peers.
function contentView(content) {
  const box = document.createElement("div");
  box.className = "content";
  const payload = content.payload || {};
  if (content.kind === "attachment" && /^https?:\/\//.test(payload.url)) {
    const link = document.createElement("a");
    link.href = payload.url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.textContent = `📎 ${payload.name || payload.url} (${payload.mime}, ${Math.ceil(payload.size / 1024)} KiB)`;
    box.append(link);
  } else if (content.kind === "buttons" && Array.isArray(payload.choices)) {
    // A bot's suggested replies: a click sends the choice as a message.
    for (const choice of payload.choices) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = String(choice);
      chip.addEventListener("click", () => sendText(state.current, String(choice)));
      box.append(chip);
    }
  } else {
    box.textContent = payload.title ? `${content.kind}: ${payload.title}` : `[${content.kind}]`;
  }
  return box;
}

function addMessage(message) {
  if (message.thread_root) return addThreadReply(message);
  const cid = message.conversation_id;
  const known = messagesOf(cid);
  if (known.has(message.seq)) return; // deduplicate by seq
  known.set(message.seq, message);
  stopTyping(cid, message.sender); // their message is what they were typing
  const summary = state.conversations.get(cid);
  if (!summary) {
    loadConversations();
    return;
  }
  // Only messages newer than the listed snapshot change its last message and unread count.
  const fresh = !summary.last_message || message.seq > summary.last_message.seq;
  if (fresh) {
    summary.last_message = message;
    if (message.sender !== state.me && message.seq > summary.read_seq) summary.unread += 1;
    noticeMessage(message);
  }
  if (cid === state.current) {
    const wasAtBottom = atBottom();
    renderMessages(false);
    if (fresh && message.sender !== state.me && !wasAtBottom) showNewPill();
    markSeen();
  }
  renderConversations();
}

// The read mark follows what the user has seen (attention.js's seenSeq),
// at most once per 200 ms however fast messages arrive or the list scrolls.
let seenTimer = null;
function markSeen() {
  clearTimeout(seenTimer);
  seenTimer = setTimeout(sendSeen, 200);
}

function sendSeen() {
  const cid = state.current;
  const summary = cid && state.conversations.get(cid);
  const seq = seenSeq();
  if (!summary || seq <= summary.read_seq) return;
  summary.read_seq = seq;
  summary.unread =
    seq >= lastSeq(cid) ? 0 : [...messagesOf(cid).values()].filter((m) => m.seq > seq && m.sender !== state.me).length;
  renderConversations();
  if (!state.client.read(cid, seq)) {
    api("POST", `conversations/${cid}/read`, { seq }).catch((error) => toast(error.message));
  }
}
