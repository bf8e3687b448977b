// A member's own preferences on the page: pin a conversation to the top of
// the list, mute it for a while, choose which messages notify, archive it
// out of the main list (a new message keeps it archived; its unread count
// still shows in the Archived section). Loaded before app.js: it only
// defines functions, which reach app.js's state when called.
"use strict";

// "Until I unmute": the server takes any future time; a century is forever here.
const MUTE_FOREVER_SECONDS = 100 * 365 * 24 * 3600;

function preferencesOf(summary) {
  return (summary && summary.preferences) || { notifications: "all", muted_until: null, archived: false, pinned: false };
}

/** Whether the conversation is muted now. */
function isMuted(summary) {
  const until = preferencesOf(summary).muted_until;
  return Boolean(until) && new Date(until) > new Date();
}

/** The marks a list item shows after the name: pinned, muted. */
function preferenceMarks(summary) {
  const marks = document.createElement("span");
  marks.className = "marks";
  const preferences = preferencesOf(summary);
  if (preferences.pinned) marks.append(mark("📌", "Pinned"));
  if (isMuted(summary)) marks.append(mark("🔕", "Muted"));
  return marks;
}

function mark(symbol, label) {
  const span = document.createElement("span");
  span.textContent = symbol;
  span.title = label;
  span.setAttribute("aria-label", label);
  return span;
}

/** Main list order: pinned first, then by latest activity (as the server lists them). */
function listOrder(a, b) {
  const pinned = Number(preferencesOf(b).pinned) - Number(preferencesOf(a).pinned);
  if (pinned !== 0) return pinned;
  return activityOf(b).localeCompare(activityOf(a));
}

function activityOf(summary) {
  return summary.last_message ? summary.last_message.created_at : summary.created_at;
}

/** The header's preferences menu, set from the open conversation's summary. */
function showPreferences(cid) {
  const summary = state.conversations.get(cid);
  $("prefs-menu").hidden = !summary;
  if (!summary) return;
  const preferences = preferencesOf(summary);
  $("pin-toggle").textContent = preferences.pinned ? "Unpin" : "Pin to top";
  $("archive-toggle").textContent = preferences.archived ? "Move to inbox" : "Archive";
  $("notify-level").value = preferences.notifications;
  $("mute-for").value = isMuted(summary) ? "muted" : "";
  $("mute-for").querySelector('option[value="muted"]').hidden = !isMuted(summary);
}

async function setPreferences(cid, change) {
  try {
    const preferences = await api("PATCH", `conversations/${encodeURIComponent(cid)}/preferences`, change);
    applyPreferences(cid, preferences);
  } catch (error) {
    toast(error.message);
    if (state.current === cid) showPreferences(cid);
  }
}

/** This user changed them, on this device or another: every device shows the same. */
function onPreferencesChanged(event) {
  applyPreferences(event.conversation_id, event.preferences);
}

function applyPreferences(cid, preferences) {
  const summary = state.conversations.get(cid);
  if (!summary) return;
  summary.preferences = preferences;
  renderConversations();
  if (state.current === cid) showPreferences(cid);
}

/** Wires this file's controls; app.js calls it once, before it starts. */
function wirePreferences() {
  $("pin-toggle").addEventListener("click", () => {
    const cid = state.current;
    setPreferences(cid, { pinned: !preferencesOf(state.conversations.get(cid)).pinned });
  });

  $("archive-toggle").addEventListener("click", () => {
    const cid = state.current;
    setPreferences(cid, { archived: !preferencesOf(state.conversations.get(cid)).archived });
    $("prefs-menu").open = false;
  });

  $("notify-level").addEventListener("change", (event) => {
    setPreferences(state.current, { notifications: event.target.value });
  });

  $("mute-for").addEventListener("change", (event) => {
    const choice = event.target.value;
    if (choice === "muted") return;
    const seconds = choice === "forever" ? MUTE_FOREVER_SECONDS : Number(choice);
    const until = choice === "" ? null : new Date(Date.now() + seconds * 1000).toISOString();
    setPreferences(state.current, { muted_until: until });
  });
}
