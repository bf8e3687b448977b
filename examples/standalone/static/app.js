// The standalone server's chat page: plain JavaScript, no build step.
// REST for lists and history; the live side is the TypeScript client
// (client/, started by main.js), which keeps every conversation's events in
// seq order and each once across reconnects, and retries sends, kept in
// IndexedDB, until stored (a reload keeps them). Edits, reactions, replies,
// threads, pins and search are in timeline.js; who is online in
// presence.js; the user picker and display names in users.js; the title,
// notifications, the divider and what was seen in attention.js; how a
// message reads in view.js; the list in list.js, new chats and rooms in
// rooms.js, the open conversation in messages.js, writing in composer.js.
// This file: the shared state, REST, signing in, membership and the
// client's events.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  me: null,
  token: null,
  conversations: new Map(), // cid -> summary from GET /conversations
  current: null, // cid on screen
  messages: new Map(), // cid -> Map(seq -> message)
  loaded: new Set(), // cids whose latest page was fetched
  hasOlder: new Map(), // cid -> bool
  readMarks: new Map(), // cid -> Map(user -> seq), from live read events
  failed: new Map(), // client_id -> a send the server refused for good, shown with "retry"
  typing: new Map(), // cid -> Map(user -> timeout)
  notices: new Map(), // cid -> [{ after: seq, text, seq? }]: membership, renames, pins seen live
  rooms: { before: null }, // the directory's paging cursor
  bot: null, // the server's bot user, if it runs one
  lib: null, // the client's classes, from main.js
  client: null, // the ChatClient of the user signed in
};

// ---------- REST ----------
async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${state.token}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = data && data.error ? data.error.message : response.statusText;
    throw new Error(message);
  }
  return data;
}

function toast(message) {
  const node = document.createElement("div");
  node.className = "error-toast";
  node.textContent = message;
  document.body.appendChild(node);
  setTimeout(() => node.remove(), 4000);
}

function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// ---------- login ----------
async function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  try {
    const mode = await (await fetch("auth-mode")).json();
    const signed = mode.mode === "signed";
    $("login-token-row").hidden = !signed;
    $("login-hint").textContent = signed
      ? "This server needs a signed token (standalone token --user NAME)."
      : "Pick a user name to start chatting (demo mode: no password).";
  } catch (_) {
    /* the form still works */
  }
  $("login-user").value = localStorage.getItem("chat.user") || "";
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const user = $("login-user").value.trim();
  if (!user) return;
  const token = $("login-token-row").hidden ? user : $("login-token").value.trim();
  localStorage.setItem("chat.user", user);
  localStorage.setItem("chat.token", token);
  start(user, token);
});

$("logout").addEventListener("click", () => {
  localStorage.removeItem("chat.token");
  if (state.client) state.client.close();
  location.reload();
});

async function start(user, token) {
  state.me = user;
  state.token = token;
  $("login").hidden = true;
  $("app").hidden = false;
  $("me").textContent = user;
  const base = new URL(".", location.href).href;
  state.client = new state.lib.ChatClient({
    baseUrl: base,
    token: () => state.token,
    outboxStore: new state.lib.IndexedDbOutboxStore(user),
  });
  state.client.on(onClientEvent);
  loadServerInfo();
  loadBlocks();
  // Listed first, so every conversation is followed from where the list
  // stands before the socket opens: nothing after it is missed.
  await loadConversations();
  state.client.start();
}

// The bot the server runs (standalone --bot), offered as a one-click chat.
async function loadServerInfo() {
  try {
    const info = await (await fetch("auth-mode")).json();
    state.bot = info.bot || null;
  } catch (_) {
    state.bot = null;
  }
  $("bot-chat").hidden = !state.bot || state.bot === state.me;
  $("bot-chat").textContent = state.bot ? `🤖 Chat with ${state.bot} (try /help)` : "";
}

$("bot-chat").addEventListener("click", () => openDirect(state.bot));

// Forgets a conversation this user left or was removed from, then lists
// again (after any listing in flight, which may still hold it).
function closeConversation(cid) {
  forgetConversation(cid);
  renderConversations();
  loadConversations();
  if ($("rooms-panel").open) loadRooms(true);
}

function forgetConversation(cid) {
  state.conversations.delete(cid);
  for (const perConversation of [state.messages, state.hasOlder, state.readMarks, state.notices]) {
    perConversation.delete(cid);
  }
  state.loaded.delete(cid);
  forgetTimeline(cid);
  for (const timer of (state.typing.get(cid) || new Map()).values()) clearTimeout(timer);
  state.typing.delete(cid);
  for (const [clientId, failed] of state.failed) {
    if (failed.conversationId === cid) state.failed.delete(clientId);
  }
  attention.dividerAfter.delete(cid);
  if (state.current === cid) {
    state.current = null;
    $("empty").hidden = false;
    for (const id of ["chat-head", "messages", "composer"]) $(id).hidden = true;
    $("typing").textContent = "";
  }
}

function listedSeq(cid) {
  const summary = state.conversations.get(cid);
  if (!summary) return 0;
  return Math.max(summary.last_seq, summary.last_message ? summary.last_message.seq : 0);
}

function onMembership(event) {
  const cid = event.conversation_id;
  const joined = event.type === "member_added";
  if (!joined && event.user_id === state.me) {
    closeConversation(cid);
    return;
  }
  const who = event.user_id === state.me ? "You" : event.user_id;
  let text = joined
    ? event.by === event.user_id ? `${who} joined` : `${event.by} added ${who}`
    : event.by === event.user_id ? `${who} left` : `${event.by} removed ${who}`;
  if (event.new_owner) text += `; ${event.new_owner === state.me ? "you own" : `${event.new_owner} owns`} the group now`;
  const notice = addNotice(event, text);
  const listed = state.conversations.has(cid);
  loadConversations().then(() => {
    if (notice && !listed && !event.seq) notice.after = Math.max(notice.after, listedSeq(cid));
    if (cid === state.current) {
      showHeader(cid);
      renderMessages(false);
    }
  });
  // Only this user's own joins change the directory's buttons; others'
  // would reset the list under a user paging through it.
  if ($("rooms-panel").open && event.user_id === state.me) loadRooms(true);
}

/**
 * A line between the messages for an event that is not a message. An event
 * with a seq goes where its seq is, once (a replay sends it again); one
 * without (a group's creation) after the latest message known now or, for
 * a conversation not listed yet, the latest the listing names.
 */
function addNotice(event, text) {
  const cid = event.conversation_id;
  if (!state.notices.has(cid)) state.notices.set(cid, []);
  const notices = state.notices.get(cid);
  if (event.seq && notices.some((notice) => notice.seq === event.seq)) return null;
  const after = event.seq || Math.max(lastSeq(cid), listedSeq(cid));
  const notice = { after, text, seq: event.seq };
  notices.push(notice);
  notices.sort((a, b) => a.after - b.after);
  if (cid === state.current) renderMessages(false);
  return notice;
}

// ---------- the client's events ----------
function setStatus(online) {
  state.online = online;
  $("status").textContent = online ? "online" : "reconnecting…";
  $("status").className = `status ${online ? "online" : "offline"}`;
  if (state.current) redraw(state.current);
}

function onClientEvent(event) {
  switch (event.type) {
    case "timeline":
    case "live":
      onEvent(event.event);
      break;
    case "connected":
      setStatus(true);
      loadConversations(); // unread counts and conversations joined while away
      break;
    case "disconnected":
      setStatus(false);
      break;
    case "queued":
      redraw(event.send.conversationId);
      break;
    case "settled":
      onSettled(event.send);
      break;
    case "store_error":
      if (!state.storeWarned) toast("This browser cannot keep unsent messages across a reload");
      state.storeWarned = true;
      break;
  }
}

function onEvent(event) {
  switch (event.type) {
    case "message":
      addMessage(event.message);
      break;
    case "error":
      toast(event.error.message);
      break;
    case "typing":
      showTyping(event.conversation_id, event.user_id);
      break;
    case "presence":
      onPresence(event);
      break;
    case "preferences_changed":
      onPreferencesChanged(event);
      break;
    case "read": {
      if (!state.readMarks.has(event.conversation_id)) state.readMarks.set(event.conversation_id, new Map());
      state.readMarks.get(event.conversation_id).set(event.user_id, event.seq);
      if (event.conversation_id === state.current) renderMessages(false);
      break;
    }
    case "member_added":
    case "member_removed":
      onMembership(event);
      break;
    case "edited":
    case "deleted":
    case "reaction_added":
    case "reaction_removed":
    case "pinned":
    case "unpinned":
    case "renamed":
      onTimelineEvent(event);
      break;
    case "role_changed":
    case "owner_changed":
    case "banned":
    case "unbanned":
    case "muted":
    case "unmuted":
    case "settings_changed":
      onModerationEvent(event);
      break;
    case "conversation_deleted":
      onConversationDeleted(event);
      break;
    default:
      break;
  }
}

// ---------- boot ----------
/** Called by main.js with the client's classes, once every script is loaded. */
function boot(lib) {
  state.lib = lib;
  wireTimeline();
  wireModeration();
  wirePreferences();
  wirePresence();
  wireUsers();
  wireAttention();
  for (const list of [$("conversations"), $("archived")]) list.addEventListener("keydown", onListKey);
  const savedUser = localStorage.getItem("chat.user");
  const savedToken = localStorage.getItem("chat.token");
  if (savedUser && savedToken) start(savedUser, savedToken);
  else showLogin();
}
