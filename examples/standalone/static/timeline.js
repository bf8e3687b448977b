// The conversation timeline on the page: edits, deletes, reactions, replies,
// threads, pins and search (docs/timeline.md). app.js owns the conversation
// list, the socket and the message list; this file applies timeline events
// to the messages the page holds and draws each message's extras and
// actions. Loaded before app.js: it only defines functions, which reach
// app.js's state when they are called.
"use strict";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const timeline = {
  pins: new Map(), // cid -> Map(seq -> message), from GET pins and pin events
  compose: null, // { kind: "reply" | "edit", cid, seq }: what the composer does next
  thread: null, // { cid, root } in the side pane
  threads: new Map(), // `${cid}/${root}` -> Map(seq -> reply)
  hit: null, // { cid, seq }: a search hit to show once its page is drawn
};

// ---------- applying events ----------

/** A message the page holds, in the conversation or in a loaded thread. */
function findMessage(cid, seq) {
  const inConversation = state.messages.get(cid)?.get(seq);
  if (inConversation) return inConversation;
  for (const [key, replies] of timeline.threads) {
    if (key.startsWith(`${cid}/`) && replies.has(seq)) return replies.get(seq);
  }
  return null;
}

/**
 * Applies an edit, a delete or a reaction to the message it changes, once:
 * only a change newer than the message's `updated_seq` (a replay sends the
 * message in its current state, then the changes that made it so).
 */
function applyChange(event) {
  const message = findMessage(event.conversation_id, event.message_seq);
  if (!message || event.seq <= (message.updated_seq || 0)) return;
  message.updated_seq = event.seq;
  switch (event.type) {
    case "edited":
      message.body = event.body;
      message.content = event.content;
      message.edited_at = event.at;
      break;
    case "deleted":
      Object.assign(message, { deleted: true, body: "", content: undefined, reactions: [], mentions: [] });
      timeline.pins.get(event.conversation_id)?.delete(message.seq);
      break;
    case "reaction_added":
    case "reaction_removed":
      countReaction(message, event.reaction, event.type === "reaction_added" ? 1 : -1, event.by === state.me);
      break;
  }
  const summary = state.conversations.get(event.conversation_id);
  if (summary && summary.last_message && summary.last_message.seq === message.seq) {
    summary.last_message = message; // the list's preview shows the edit or the tombstone
    renderConversations();
  }
  redraw(event.conversation_id);
}

function countReaction(message, reaction, delta, mine) {
  const reactions = message.reactions || (message.reactions = []);
  let entry = reactions.find((r) => r.reaction === reaction);
  if (!entry) reactions.push((entry = { reaction, count: 0, mine: false }));
  entry.count += delta;
  if (mine) entry.mine = delta > 0;
  message.reactions = reactions.filter((r) => r.count > 0);
}

/**
 * A thread reply: counted on its root (once, by the root's `updated_seq`)
 * and kept for the thread pane; it is not part of the conversation's list.
 */
function addThreadReply(reply) {
  const cid = reply.conversation_id;
  const replies = threadReplies(cid, reply.thread_root);
  const isNew = !replies.has(reply.seq);
  replies.set(reply.seq, reply);
  const root = findMessage(cid, reply.thread_root);
  if (root && reply.seq > (root.updated_seq || 0)) {
    root.updated_seq = reply.seq;
    root.reply_count = (root.reply_count || 0) + 1;
    root.last_reply_seq = reply.seq;
  }
  if (isNew) stopTyping(cid, reply.sender);
  redraw(cid);
}

function threadReplies(cid, root) {
  const key = `${cid}/${root}`;
  if (!timeline.threads.has(key)) timeline.threads.set(key, new Map());
  return timeline.threads.get(key);
}

function onPin(event) {
  const pins = timeline.pins.get(event.conversation_id);
  if (pins) {
    const message = findMessage(event.conversation_id, event.message_seq);
    if (event.type === "unpinned") pins.delete(event.message_seq);
    else if (message) pins.set(event.message_seq, message);
    else loadPins(event.conversation_id); // pinned before the loaded pages
  }
  const verb = event.type === "pinned" ? "pinned" : "unpinned";
  addNotice(event, `${who(event.by)} ${verb} a message`);
}

function onRenamed(event) {
  const summary = state.conversations.get(event.conversation_id);
  if (summary) summary.title = event.title;
  renderConversations();
  if (event.conversation_id === state.current) showHeader(event.conversation_id);
  addNotice(event, `${who(event.by)} renamed the group to “${event.title}”`);
}

function who(user) {
  return user === state.me ? "You" : user;
}

function redraw(cid) {
  if (cid === state.current) renderMessages(false);
  if (timeline.thread && timeline.thread.cid === cid) renderThread();
}

// ---------- drawing a message's extras ----------

/** The quote of the message replied to, above the text. */
function replyQuote(message) {
  const quoted = findMessage(message.conversation_id, message.reply_to);
  const quote = document.createElement("button");
  quote.type = "button";
  quote.className = "quote";
  quote.textContent = quoted
    ? `${quoted.sender}: ${quoted.deleted ? "message deleted" : quoted.body}`
    : "a message further back";
  quote.addEventListener("click", () => showMessage(message.conversation_id, message.reply_to));
  return quote;
}

/** Reactions (click to add or take back your own), the thread link, the actions. */
function messageExtras(message, item) {
  if (message.deleted) return;
  const cid = message.conversation_id;
  if (message.reactions && message.reactions.length) {
    const row = document.createElement("div");
    row.className = "reactions";
    for (const { reaction, count, mine } of message.reactions) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = `reaction${mine ? " mine" : ""}`;
      chip.textContent = `${reaction} ${count}`;
      chip.title = mine ? "Take your reaction back" : "React too";
      chip.addEventListener("click", () => react(message, reaction, !mine));
      row.append(chip);
    }
    item.append(row);
  }
  if (message.reply_count && !message.thread_root) {
    const link = document.createElement("button");
    link.type = "button";
    link.className = "thread-link";
    link.textContent = `${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`;
    link.addEventListener("click", () => openThread(cid, message.seq));
    item.append(link);
  }
  item.append(actions(message));
}

function actions(message) {
  const bar = document.createElement("div");
  bar.className = "actions";
  const action = (label, title, run) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.title = title;
    button.dataset.action = title;
    button.addEventListener("click", run);
    bar.append(button);
  };
  for (const reaction of QUICK_REACTIONS.slice(0, 3)) {
    action(reaction, `React ${reaction}`, () => react(message, reaction, !reactedWith(message, reaction)));
  }
  if (!message.thread_root) {
    action("↩", "Reply", () => startCompose("reply", message));
    action("🧵", "Thread", () => openThread(message.conversation_id, message.seq));
    const pinned = timeline.pins.get(message.conversation_id)?.has(message.seq);
    action("📌", pinned ? "Unpin" : "Pin", () => pin(message, !pinned));
  }
  if (message.sender === state.me) {
    action("✎", "Edit", () => startCompose("edit", message));
    action("🗑", "Delete", () => removeMessage(message));
  } else if (!message.deleted) {
    action("⚑", "Report", () => reportMessage(message));
  }
  return bar;
}

function reactedWith(message, reaction) {
  return (message.reactions || []).some((r) => r.reaction === reaction && r.mine);
}

// ---------- changes, over REST (each answers its event, applied at once) ----------

async function change(method, path, body) {
  try {
    const event = await api(method, path, body);
    if (event) onTimelineEvent(event); // 204: nothing changed
  } catch (error) {
    toast(error.message);
  }
}

function messagePath(message) {
  return `conversations/${message.conversation_id}/messages/${message.seq}`;
}

function react(message, reaction, add) {
  const path = `${messagePath(message)}/reactions/${encodeURIComponent(reaction)}?client_id=${newClientId()}`;
  change(add ? "PUT" : "DELETE", path);
}

function pin(message, add) {
  change(add ? "PUT" : "DELETE", `conversations/${message.conversation_id}/pins/${message.seq}`);
}

function removeMessage(message) {
  if (!confirm("Delete this message for everyone?")) return;
  change("DELETE", `${messagePath(message)}?client_id=${newClientId()}`);
}

/** Every timeline event, live, replayed, or the answer to a change of ours. */
function onTimelineEvent(event) {
  switch (event.type) {
    case "edited":
    case "deleted":
    case "reaction_added":
    case "reaction_removed":
      applyChange(event);
      break;
    case "pinned":
    case "unpinned":
      onPin(event);
      break;
    case "renamed":
      onRenamed(event);
      break;
  }
}

// ---------- the composer: reply or edit ----------

function startCompose(kind, message) {
  timeline.compose = { kind, cid: message.conversation_id, seq: message.seq };
  $("compose-context-text").textContent =
    kind === "edit" ? "Editing your message" : `Replying to ${message.sender}: ${message.body}`;
  $("compose-context").hidden = false;
  if (kind === "edit") $("body").value = message.body;
  $("body").focus();
}

function endCompose() {
  const wasEditing = timeline.compose && timeline.compose.kind === "edit";
  timeline.compose = null;
  $("compose-context").hidden = true;
  if (wasEditing) $("body").value = "";
}

/**
 * What the composer's text does: an edit (sent here), or the fields a new
 * message carries (a reply's `reply_to`), or null when it was an edit.
 */
function composeTarget(cid, body) {
  const compose = timeline.compose;
  endCompose();
  if (!compose || compose.cid !== cid) return {};
  if (compose.kind === "edit") {
    const message = findMessage(cid, compose.seq);
    if (message && body !== message.body) {
      change("PATCH", messagePath(message), { body, client_id: newClientId() });
    }
    return null;
  }
  return { reply_to: compose.seq };
}

// ---------- the thread pane ----------

async function openThread(cid, root) {
  timeline.thread = { cid, root };
  $("thread").hidden = false;
  renderThread();
  try {
    // Every page of the thread, oldest first.
    const replies = threadReplies(cid, root);
    let page = { has_more: true, messages: [] };
    let after = 0;
    while (page.has_more) {
      page = await api("GET", `conversations/${cid}/messages/${root}/thread?after=${after}&limit=100`);
      page.messages.forEach((m) => replies.set(m.seq, m));
      if (page.messages.length) after = page.messages[page.messages.length - 1].seq;
      else break;
    }
  } catch (error) {
    toast(error.message);
  }
  renderThread();
  $("thread-body").focus();
}

function closeThread() {
  timeline.thread = null;
  $("thread").hidden = true;
}

function renderThread() {
  const thread = timeline.thread;
  if (!thread) return;
  if (thread.cid !== state.current) return closeThread();
  const list = $("thread-list");
  list.replaceChildren();
  const root = findMessage(thread.cid, thread.root);
  if (root) list.append(messageItem(root, []));
  const replies = [...threadReplies(thread.cid, thread.root).values()].sort((a, b) => a.seq - b.seq);
  for (const reply of replies) list.append(messageItem(reply, []));
  for (const send of outgoing(thread.cid, thread.root)) list.append(outgoingItem(send));
  list.scrollTop = list.scrollHeight;
}

// ---------- pins ----------

async function loadPins(cid) {
  try {
    const page = await api("GET", `conversations/${cid}/pins`);
    timeline.pins.set(cid, new Map(page.messages.map((m) => [m.seq, findMessage(cid, m.seq) || m])));
  } catch (error) {
    toast(error.message);
  }
  if (cid === state.current) renderPins();
}

function renderPins() {
  const pins = timeline.pins.get(state.current) || new Map();
  $("pins-toggle").textContent = `📌 ${pins.size}`;
  $("pins-toggle").hidden = pins.size === 0;
  const list = $("pins-list");
  list.replaceChildren();
  for (const message of [...pins.values()].sort((a, b) => b.seq - a.seq)) {
    const item = document.createElement("li");
    item.textContent = `${message.sender}: ${message.body}`;
    item.addEventListener("click", () => {
      $("pins").hidden = true;
      showMessage(message.conversation_id, message.seq);
    });
    list.append(item);
  }
  if (pins.size === 0) $("pins").hidden = true;
}

// ---------- read marks: "Seen by" after a reload ----------

async function loadReadMarks(cid) {
  try {
    const page = await api("GET", `conversations/${cid}/reads`);
    if (!state.readMarks.has(cid)) state.readMarks.set(cid, new Map());
    const marks = state.readMarks.get(cid);
    for (const { user_id, seq } of page.reads) marks.set(user_id, Math.max(marks.get(user_id) || 0, seq));
    if (cid === state.current) renderMessages(false);
  } catch (error) {
    toast(error.message);
  }
}

// ---------- search ----------

let searchTimer = null;
let searchRequest = 0;

async function search() {
  const query = $("search").value.trim();
  const request = ++searchRequest;
  const results = $("search-results");
  if (!query) {
    results.hidden = true;
    $("conversations").hidden = false;
    return;
  }
  try {
    const page = await api("GET", `search?q=${encodeURIComponent(query)}&limit=20`);
    if (request !== searchRequest) return; // a newer query answers instead
    results.replaceChildren();
    for (const message of page.messages) results.append(searchHit(message));
    if (page.messages.length === 0) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "No message matches.";
      results.append(none);
    }
  } catch (error) {
    if (request !== searchRequest) return;
    results.replaceChildren();
    const refused = document.createElement("li");
    refused.className = "none";
    refused.textContent = error.message;
    results.append(refused);
  }
  results.hidden = false;
  $("conversations").hidden = true;
}

function searchHit(message) {
  const item = document.createElement("li");
  const summary = state.conversations.get(message.conversation_id);
  const where = document.createElement("span");
  where.className = "name";
  where.textContent = summary ? conversationName(summary) : "a conversation";
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = formatTime(message.created_at);
  const text = document.createElement("span");
  text.className = "preview";
  text.textContent = `${message.sender === state.me ? "You" : message.sender}: ${message.body}`;
  item.append(where, when, text);
  item.addEventListener("click", () => {
    $("search").value = "";
    search();
    showMessage(message.conversation_id, message.thread_root || message.seq);
  });
  return item;
}

/**
 * Opens the conversation at one message: pages back from the latest until
 * it is loaded (the page's list is always a run up to the newest), then
 * scrolls to it and marks it for a moment.
 */
async function showMessage(cid, seq) {
  if (state.current !== cid) await openConversation(cid);
  while (!messagesOf(cid).has(seq) && state.hasOlder.get(cid) && state.current === cid) {
    if (!(await loadOlder())) break;
  }
  timeline.hit = { cid, seq };
  renderMessages(false);
}

/**
 * After a render: marks the search or pin hit for two seconds (every render
 * meanwhile draws it marked) and scrolls to it the first time.
 */
function revealHit() {
  const hit = timeline.hit;
  if (!hit || hit.cid !== state.current) return;
  const item = $("message-list").querySelector(`[data-seq="${hit.seq}"]`);
  if (!item) return;
  item.classList.add("hit");
  if (hit.shown) return;
  hit.shown = true;
  item.scrollIntoView({ block: "center" });
  setTimeout(() => {
    if (timeline.hit !== hit) return;
    timeline.hit = null;
    redraw(hit.cid);
  }, 2000);
}

/** Drops what this file keeps of a conversation the user left. */
function forgetTimeline(cid) {
  timeline.pins.delete(cid);
  for (const key of [...timeline.threads.keys()]) if (key.startsWith(`${cid}/`)) timeline.threads.delete(key);
  if (timeline.thread && timeline.thread.cid === cid) closeThread();
  if (timeline.compose && timeline.compose.cid === cid) endCompose();
}

/** Wires this file's controls; app.js calls it once, before it starts. */
function wireTimeline() {
  $("compose-cancel").addEventListener("click", endCompose);
  $("body").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && timeline.compose) endCompose();
  });
  $("thread-close").addEventListener("click", closeThread);
  $("thread-composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = $("thread-body").value;
    if (!body.trim() || !timeline.thread) return;
    $("thread-body").value = "";
    sendText(timeline.thread.cid, body, { thread_root: timeline.thread.root });
  });
  $("thread-body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("thread-composer").requestSubmit();
    }
  });
  $("pins-toggle").addEventListener("click", () => ($("pins").hidden = !$("pins").hidden));
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 300);
  });
}
