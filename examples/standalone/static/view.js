// How messages read on the page: times and day labels ("Today",
// "Yesterday"), links made clickable, and which consecutive messages group
// together. Pure functions of a message and the clock, so app.js and
// timeline.js draw messages alike.
"use strict";

/** Consecutive messages of one sender this close together share a group. */
const GROUP_WITHIN_MS = 5 * 60 * 1000;
/** http(s) links in a message's text; anything else stays text. */
const LINK = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'}]/gi;

/** A clock time today, else a short date. */
function formatTime(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

/** "Today", "Yesterday", or the date, for the separator above a day's messages. */
function dayLabel(iso, now = new Date()) {
  const day = new Date(iso).toDateString();
  if (day === now.toDateString()) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (day === yesterday.toDateString()) return "Yesterday";
  return new Date(iso).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** Whether `message` continues `previous`'s group: same sender, same day, minutes apart. */
function continuesGroup(previous, message) {
  if (!previous || previous.sender !== message.sender || previous.deleted || message.reply_to) return false;
  const gap = new Date(message.created_at) - new Date(previous.created_at);
  return gap >= 0 && gap < GROUP_WITHIN_MS && new Date(previous.created_at).toDateString() === new Date(message.created_at).toDateString();
}

/**
 * The text with its http(s) links as anchors opening in a new tab without
 * a referrer or a handle on this page; built from text nodes, never HTML.
 */
function linkify(text) {
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const found of text.matchAll(LINK)) {
    fragment.append(text.slice(at, found.index));
    const link = document.createElement("a");
    link.href = found[0];
    link.textContent = found[0];
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    fragment.append(link);
    at = found.index + found[0].length;
  }
  fragment.append(text.slice(at));
  return fragment;
}
