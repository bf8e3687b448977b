// Who is online, on the page: a dot on each direct conversation in the list
// and "online" / "last seen …" under the open one's name. The server sends a
// `presence` event when a contact comes or goes (debounced: a reload is no
// event); the page reads everyone's once per listing (after every
// reconnect too), so a change missed while away is caught up. Loaded
// before app.js: it only defines functions, which reach app.js's state
// when called.
"use strict";

const presence = new Map(); // user -> { online, last_seen }

/** The other member of a direct conversation; null for groups. */
function directPeer(conversation) {
  if (!conversation || conversation.kind !== "direct") return null;
  return conversation.members.find((m) => m !== state.me) || null;
}

/** Reads the presence of every direct conversation's other member. */
async function loadPresence() {
  const peers = [...new Set([...state.conversations.values()].map(directPeer).filter(Boolean))];
  for (const query of userQueries(peers)) {
    try {
      const read = await api("GET", `presence?${query}`);
      read.users.forEach(rememberPresence);
    } catch (error) {
      return; // a dot is not worth a toast; the next listing reads again
    }
  }
  showPresence();
}

/** A contact came online or went offline. */
function onPresence(event) {
  rememberPresence(event);
  showPresence();
}

function rememberPresence(entry) {
  presence.set(entry.user_id, { online: entry.online, last_seen: entry.last_seen });
}

/** Repaints the dots and the open conversation's presence line. */
function showPresence() {
  for (const item of document.querySelectorAll("li[data-id]")) {
    const dot = item.querySelector(".presence-dot");
    if (dot) paintDot(dot, directPeer(state.conversations.get(item.dataset.id)));
  }
  $("chat-presence").textContent = presenceLine(directPeer(state.conversations.get(state.current)));
}

/** The dot before a direct conversation's name (nothing for a group). */
function presenceDot(conversation) {
  const peer = directPeer(conversation);
  if (!peer) return document.createTextNode("");
  const dot = document.createElement("span");
  paintDot(dot, peer);
  return dot;
}

function paintDot(dot, peer) {
  const known = presence.get(peer);
  const online = Boolean(known && known.online);
  dot.className = `presence-dot ${online ? "online" : "offline"}`;
  const label = online ? `${peer} is online` : `${peer} is offline`;
  dot.title = label;
  dot.setAttribute("aria-label", label);
  dot.setAttribute("role", "img");
}

/** "online", "last seen 5 min ago", or nothing when never seen. */
function presenceLine(peer) {
  const known = peer && presence.get(peer);
  if (!known) return "";
  if (known.online) return "online";
  return known.last_seen ? `last seen ${ago(known.last_seen)}` : "";
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `on ${new Date(iso).toLocaleDateString([], { month: "short", day: "numeric" })}`;
}

/** Keeps "last seen … ago" current; app.js calls it once, before it starts. */
function wirePresence() {
  setInterval(showPresence, 60 * 1000);
}
