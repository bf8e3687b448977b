// Starting conversations: a direct chat with a user, a group (public or
// not), the public rooms' directory (searched and paged) with joining, and
// leaving a group. Loaded after app.js, whose state and helpers it uses.
"use strict";

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
