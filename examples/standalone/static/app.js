// The standalone server's chat page: plain JavaScript, no build step.
// REST for lists and history, one WebSocket for live events and fast sends;
// after a reconnect it resumes every open conversation from the last seq seen.
// Edits, reactions, replies, threads, pins and search are in timeline.js;
// who is online in presence.js; the user picker and display names in users.js.
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
  pending: new Map(), // client_id -> { cid, body, extras: { reply_to?, thread_root? } }
  typing: new Map(), // cid -> Map(user -> timeout)
  notices: new Map(), // cid -> [{ after: seq, text, seq? }]: membership, renames, pins seen live
  rooms: { before: null }, // the directory's paging cursor
  bot: null, // the server's bot user, if it runs one
  ws: null,
  retry: 0,
  lastTypingSent: 0,
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
  if (state.ws) state.ws.close();
  location.reload();
});

async function start(user, token) {
  state.me = user;
  state.token = token;
  $("login").hidden = true;
  $("app").hidden = false;
  $("me").textContent = user;
  loadServerInfo();
  loadBlocks();
  await loadConversations();
  connect();
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

// ---------- conversations ----------
function conversationName(conversation) {
  if (conversation.kind === "group") return conversation.public ? `# ${conversation.title}` : conversation.title;
  const other = conversation.members.find((m) => m !== state.me);
  return displayName(other || state.me);
}

// One listing request at a time; a request made meanwhile runs once after it.
let listing = null;
let listAgain = false;
async function loadConversations() {
  if (listing) {
    listAgain = true;
    return listing;
  }
  listing = (async () => {
    do {
      listAgain = false;
      try {
        // Every page of the list, newest activity first, so nothing is out
        // of reach however many conversations there are.
        const listed = [...(await everyPage("")), ...(await everyPage("&archived=true"))];
        state.conversations = new Map(listed.map((c) => [c.id, c]));
        // Left or removed while away. Only the newest listing decides: one
        // queued after this may hold a conversation joined meanwhile.
        if (!listAgain) {
          for (const cid of new Set([...state.loaded, state.current])) {
            if (cid && !state.conversations.has(cid)) forgetConversation(cid);
          }
        }
        renderConversations();
        loadPeople();
      } catch (error) {
        toast(`Could not load conversations: ${error.message}`);
      }
    } while (listAgain);
    listing = null;
  })();
  return listing;
}

/** Every page of the main list (`extra` "") or the archived one. */
async function everyPage(extra) {
  const listed = [];
  let page = { has_more: true };
  while (page.has_more) {
    const before = page.next ? `&before=${encodeURIComponent(page.next)}` : "";
    page = await api("GET", `conversations?limit=500${extra}${before}`);
    listed.push(...page.conversations);
  }
  return listed;
}

function formatTime(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

function renderConversations() {
  const all = [...state.conversations.values()];
  const main = all.filter((c) => !preferencesOf(c).archived).sort(listOrder);
  const archived = all.filter((c) => preferencesOf(c).archived).sort((a, b) => activityOf(b).localeCompare(activityOf(a)));
  $("conversations").replaceChildren(...main.map(conversationItem));
  $("archived").replaceChildren(...archived.map(conversationItem));
  $("archived-panel").hidden = archived.length === 0;
  const unread = archived.filter((c) => c.unread > 0 && c.id !== state.current).length;
  $("archived-summary").textContent = `Archived (${archived.length})${unread ? ` · ${unread} unread` : ""}`;
}

function conversationItem(conversation) {
  const item = document.createElement("li");
  item.dataset.id = conversation.id;
  if (conversation.id === state.current) item.classList.add("active");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = conversationName(conversation);
  const when = document.createElement("span");
  when.className = "when";
  const last = conversation.last_message;
  when.textContent = last ? formatTime(last.created_at) : "";
  const preview = document.createElement("span");
  preview.className = "preview";
  preview.textContent = last
    ? `${last.sender === state.me ? "You" : displayName(last.sender)}: ${last.deleted ? "message deleted" : last.body}`
    : conversation.kind === "group" ? `${conversation.members.length} members` : "No messages yet";
  when.prepend(preferenceMarks(conversation));
  name.prepend(presenceDot(conversation));
  item.append(name, when, preview);
  if (conversation.unread > 0 && conversation.id !== state.current) {
    const badge = document.createElement("span");
    badge.className = isMuted(conversation) ? "badge quiet" : "badge";
    badge.textContent = conversation.unread;
    item.append(badge);
  }
  item.addEventListener("click", () => openConversation(conversation.id));
  return item;
}

async function openDirect(other) {
  try {
    const conversation = await api("PUT", `direct/${encodeURIComponent(other)}`);
    await loadConversations();
    openConversation(conversation.id);
    return true;
  } catch (error) {
    toast(error.message);
    return false;
  }
}

$("new-direct").addEventListener("submit", async (event) => {
  event.preventDefault();
  const other = $("direct-user").value.trim();
  if (other && (await openDirect(other))) closePicker();
});

$("new-group").addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = $("group-title").value.trim();
  const members = $("group-members").value.split(",").map((m) => m.trim()).filter(Boolean);
  const isPublic = $("group-public").checked;
  try {
    const conversation = await api("POST", "conversations", { title, members, public: isPublic });
    $("group-title").value = "";
    $("group-members").value = "";
    $("group-public").checked = false;
    if ($("rooms-panel").open) loadRooms(true);
    await loadConversations();
    openConversation(conversation.id);
  } catch (error) {
    toast(error.message);
  }
});

// ---------- public rooms ----------
// The directory, newest first, searched as you type, paged by "More rooms".
// A reset (new search, membership change) supersedes any request in flight;
// "More rooms" is hidden while a request is out, so pages never interleave.
let roomsRequest = 0;
async function loadRooms(reset) {
  if (reset) state.rooms.before = null;
  else if (!state.rooms.before) return;
  const request = ++roomsRequest;
  $("rooms-more").hidden = true;
  const params = new URLSearchParams({ limit: "20" });
  const query = $("room-query").value.trim();
  if (query) params.set("q", query);
  if (state.rooms.before) params.set("before", state.rooms.before);
  try {
    const page = await api("GET", `rooms?${params}`);
    if (request !== roomsRequest) return; // a newer request answers instead
    if (reset) $("rooms").replaceChildren();
    page.rooms.forEach((room) => $("rooms").append(roomItem(room)));
    if (reset && page.rooms.length === 0) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = query ? "No room matches." : "No public rooms yet.";
      $("rooms").append(none);
    }
    state.rooms.before = page.rooms.length ? page.rooms[page.rooms.length - 1].id : null;
    $("rooms-more").hidden = !page.has_more;
  } catch (error) {
    if (request === roomsRequest) $("rooms-more").hidden = !state.rooms.before;
    toast(`Could not load rooms: ${error.message}`);
  }
}

function roomItem(room) {
  const item = document.createElement("li");
  item.dataset.id = room.id;
  const text = document.createElement("div");
  const title = document.createElement("div");
  title.className = "room-title";
  title.textContent = `# ${room.title}`;
  const meta = document.createElement("div");
  meta.className = "room-meta";
  meta.textContent = `${room.member_count} member${room.member_count === 1 ? "" : "s"}`;
  text.append(title, meta);
  const button = document.createElement("button");
  button.className = "small";
  button.textContent = room.joined ? "Open" : "Join";
  button.addEventListener("click", () => (room.joined ? openConversation(room.id) : joinRoom(room.id)));
  item.append(text, button);
  return item;
}

async function joinRoom(cid) {
  try {
    await api("POST", `rooms/${cid}/join`);
    await loadConversations();
    openConversation(cid);
    loadRooms(true);
  } catch (error) {
    toast(`Could not join: ${error.message}`);
  }
}

$("rooms-panel").addEventListener("toggle", () => {
  if ($("rooms-panel").open) loadRooms(true);
});
let roomSearchTimer = null;
$("room-query").addEventListener("input", () => {
  clearTimeout(roomSearchTimer);
  roomSearchTimer = setTimeout(() => loadRooms(true), 250);
});
$("rooms-more").addEventListener("click", () => loadRooms(false));

$("leave").addEventListener("click", async () => {
  const cid = state.current;
  const summary = cid && state.conversations.get(cid);
  if (!summary || !confirm(`Leave ${conversationName(summary)}?`)) return;
  try {
    await api("DELETE", `conversations/${cid}/members/${encodeURIComponent(state.me)}`);
    closeConversation(cid);
  } catch (error) {
    toast(`Could not leave: ${error.message}`);
  }
});

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
  for (const [clientId, pending] of state.pending) {
    if (pending.cid === cid) state.pending.delete(clientId);
  }
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

// ---------- messages ----------
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
  state.current = cid;
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
  markRead(cid);
  $("body").focus();
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

function seenBy(cid, seq) {
  const marks = state.readMarks.get(cid);
  if (!marks) return [];
  return [...marks.entries()].filter(([user, mark]) => user !== state.me && mark >= seq).map(([user]) => user);
}

function renderMessages(scrollToEnd) {
  const cid = state.current;
  const list = $("message-list");
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
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
  let day = null;
  for (const message of sorted) {
    noticesUpTo(message.seq - 1);
    const date = new Date(message.created_at).toDateString();
    if (date !== day) {
      day = date;
      const separator = document.createElement("li");
      separator.className = "day";
      separator.textContent = new Date(message.created_at).toLocaleDateString();
      list.append(separator);
    }
    list.append(messageItem(message, myLast && message.seq === myLast.seq ? seenBy(cid, message.seq) : []));
  }
  noticesUpTo(Infinity);
  for (const [clientId, pending] of state.pending) {
    if (pending.cid !== cid || pending.extras.thread_root) continue;
    const item = messageItem({ sender: state.me, body: pending.body, created_at: new Date().toISOString() }, []);
    item.classList.add("pending");
    item.dataset.clientId = clientId;
    list.append(item);
  }
  if (scrollToEnd || atBottom) box.scrollTop = box.scrollHeight;
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
    bubble.textContent = message.body;
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
  const visible = cid === state.current && document.visibilityState === "visible";
  // Only messages newer than the listed snapshot change its last message and unread count.
  if (!summary.last_message || message.seq > summary.last_message.seq) {
    summary.last_message = message;
    if (message.sender !== state.me && !visible) summary.unread += 1;
  }
  renderConversations();
  if (cid === state.current) {
    renderMessages(false);
    if (visible) markRead(cid);
  }
}

let readTimer = null;
function markRead(cid) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const seq = lastSeq(cid);
    if (seq === 0) return;
    try {
      send({ type: "read", conversation_id: cid, seq }) ||
        (await api("POST", `conversations/${cid}/read`, { seq }));
      const summary = state.conversations.get(cid);
      if (summary) {
        summary.unread = 0;
        summary.read_seq = Math.max(summary.read_seq, seq);
        renderConversations();
      }
    } catch (error) {
      toast(error.message);
    }
  }, 200);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.current) markRead(state.current);
});

// ---------- composer ----------
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = $("body").value;
  if (!body.trim() || !state.current) return;
  const extras = composeTarget(state.current, body);
  $("body").value = "";
  if (extras) sendText(state.current, body, extras);
});

function sendFrame(clientId, pending) {
  return send({ type: "send", conversation_id: pending.cid, body: pending.body, client_id: clientId, ...pending.extras });
}

// Shown at once as pending; sent over the socket (or REST when it is down)
// with a client_id, so a retry is stored once. `extras`: a reply's
// `reply_to`, a thread reply's `thread_root`.
async function sendText(cid, body, extras = {}) {
  const clientId = newClientId();
  const pending = { cid, body, extras };
  state.pending.set(clientId, pending);
  redraw(cid);
  if (!sendFrame(clientId, pending)) {
    try {
      const message = await api("POST", `conversations/${cid}/messages`, { body, client_id: clientId, ...extras });
      state.pending.delete(clientId);
      addMessage(message);
    } catch (error) {
      state.pending.delete(clientId);
      redraw(cid);
      toast(`Not sent: ${error.message}`);
    }
  }
}

$("body").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("body").addEventListener("input", () => {
  const now = Date.now();
  if (state.current && now - state.lastTypingSent > 2500) {
    state.lastTypingSent = now;
    send({ type: "typing", conversation_id: state.current });
  }
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

// ---------- WebSocket ----------
function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function setStatus(online) {
  $("status").textContent = online ? "online" : "reconnecting…";
  $("status").className = `status ${online ? "online" : "offline"}`;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = location.pathname.replace(/[^/]*$/, "");
  const ws = new WebSocket(`${scheme}://${location.host}${base}ws?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  ws.onopen = async () => {
    state.retry = 0;
    setStatus(true);
    await loadConversations();
    resumeAll();
    // Sends that were waiting for the socket go out now, with their client_id.
    for (const [clientId, pending] of state.pending) sendFrame(clientId, pending);
  };
  ws.onmessage = (event) => onEvent(JSON.parse(event.data));
  ws.onclose = () => {
    setStatus(false);
    const delay = Math.min(15000, 500 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
}

function resumeAll() {
  const positions = {};
  for (const cid of state.loaded) positions[cid] = lastSeq(cid);
  if (Object.keys(positions).length) send({ type: "resume", positions });
}

function onEvent(event) {
  switch (event.type) {
    case "message":
      addMessage(event.message);
      break;
    case "ack":
      state.pending.delete(event.client_id);
      addMessage(event.message);
      break;
    case "error":
      if (event.client_id && event.error.retryable && state.pending.has(event.client_id)) {
        // Not stored yet (or not known to be): the same client_id again is
        // safe, the server stores it once.
        const pending = state.pending.get(event.client_id);
        setTimeout(() => sendFrame(event.client_id, pending), 1000);
        break;
      }
      if (event.client_id && state.pending.has(event.client_id)) {
        const { cid } = state.pending.get(event.client_id);
        state.pending.delete(event.client_id);
        redraw(cid);
      }
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
    case "gap":
      if (event.conversation_id && state.loaded.has(event.conversation_id)) {
        send({ type: "resume", positions: { [event.conversation_id]: event.from_seq - 1 } });
      } else {
        loadConversations();
        resumeAll();
      }
      break;
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
wireTimeline();
wireModeration();
wirePreferences();
wirePresence();
wireUsers();
const savedUser = localStorage.getItem("chat.user");
const savedToken = localStorage.getItem("chat.token");
if (savedUser && savedToken) start(savedUser, savedToken);
else showLogin();
