// What calls for the user's attention, and what they have actually seen:
// the unread count in the tab's title, browser notifications (asked for
// with the bell), new messages read out to screen readers, the "new
// messages" divider above the first unread message when a conversation
// opens, the "↓ new" pill while scrolled up, and the read mark, sent only
// for messages on screen in a visible tab. Loaded before app.js: it only
// defines functions, which reach app.js's state when called.
"use strict";

const attention = {
  dividerAfter: new Map(), // cid -> the read seq when it was opened with unread messages
  burst: { since: 0, lines: 0, tally: null }, // what the announcer said within the last second
};

/** Within this many pixels of the end counts as at the bottom. */
const BOTTOM_SLACK = 60;

/** The tab's title: the number of unread messages, muted conversations aside. */
function updateTitle() {
  let unread = 0;
  for (const summary of state.conversations.values()) {
    if (!isMuted(summary) && summary.unread > 0) unread += summary.unread;
  }
  document.title = unread > 0 ? `(${unread}) chat` : "chat";
}

/** Whether `message` should reach the user while they look elsewhere. */
function wantsNotice(summary, message) {
  if (!summary || message.sender === state.me || isMuted(summary)) return false;
  const level = preferencesOf(summary).notifications;
  if (level === "none") return false;
  return level !== "mentions" || (message.mentions || []).includes(state.me);
}

/**
 * A message that just arrived: a browser notification when the tab is
 * hidden or another conversation is open, and a line for screen readers.
 */
function noticeMessage(message) {
  const cid = message.conversation_id;
  const summary = state.conversations.get(cid);
  if (!wantsNotice(summary, message)) return;
  const text = message.deleted ? "" : message.body;
  const name = conversationName(summary);
  const away = document.visibilityState !== "visible" || cid !== state.current;
  announce(`${displayName(message.sender)}${summary.kind === "group" ? ` in ${name}` : ""}: ${text}`);
  if (!away || !("Notification" in window) || Notification.permission !== "granted") return;
  const notification = new Notification(name, { body: text.slice(0, 200), tag: cid });
  notification.onclick = () => {
    window.focus();
    openConversation(cid);
    notification.close();
  };
}

/** More lines than this within a second (a reconnect's replay) are counted, not read. */
const ANNOUNCE_BURST = 5;

/**
 * Reads `text` out to screen readers: a line added to the announcer (an
 * aria-live region reads additions); past a burst's few lines, one line
 * counts the rest.
 */
function announce(text) {
  const announcer = $("announcer");
  const now = Date.now();
  if (now - attention.burst.since > 1000) attention.burst = { since: now, lines: 0, tally: null };
  const burst = attention.burst;
  burst.lines += 1;
  if (burst.lines > ANNOUNCE_BURST) {
    if (!burst.tally) {
      burst.tally = document.createElement("p");
      announcer.append(burst.tally);
    }
    burst.tally.textContent = `and ${burst.lines - ANNOUNCE_BURST} more new messages`;
    return;
  }
  const line = document.createElement("p");
  line.textContent = text;
  announcer.append(line);
  while (announcer.childElementCount > ANNOUNCE_BURST + 1) announcer.firstElementChild.remove();
}

/** Whether the message list is scrolled to its end. */
function atBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < BOTTOM_SLACK;
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
  $("new-pill").hidden = true;
}

/** A message of another's arrived in the open conversation while scrolled up. */
function showNewPill() {
  $("new-pill").hidden = false;
}

/**
 * The newest seq of the open conversation the user has seen: its message
 * at least half on screen, the tab visible and the conversation's pane
 * showing (on a phone the list may cover it). 0 when nothing is seen.
 */
function seenSeq() {
  const box = $("messages");
  if (document.visibilityState !== "visible" || !state.current || box.hidden || box.offsetParent === null) return 0;
  const bottom = box.getBoundingClientRect().bottom;
  const items = $("message-list").querySelectorAll("li[data-seq]");
  for (let index = items.length - 1; index >= 0; index -= 1) {
    const rect = items[index].getBoundingClientRect();
    if (rect.top + rect.height / 2 <= bottom) return Number(items[index].dataset.seq);
  }
  return 0;
}

/** Where the "new messages" divider goes in `cid`: after this seq, or nowhere. */
function dividerAfter(cid) {
  return attention.dividerAfter.get(cid);
}

/** Remembers, as `cid` opens, where its unread messages begin. */
function placeDivider(cid) {
  const summary = state.conversations.get(cid);
  attention.dividerAfter.clear();
  if (summary && summary.unread > 0) attention.dividerAfter.set(cid, summary.read_seq);
}

function wireAttention() {
  const bell = $("notify");
  const offer = () => {
    bell.hidden = !("Notification" in window) || Notification.permission !== "default";
  };
  offer();
  bell.addEventListener("click", async () => {
    await Notification.requestPermission();
    offer();
  });
  $("new-pill").addEventListener("click", () => {
    scrollToBottom();
    markSeen();
  });
  let scrolled = null;
  $("messages").addEventListener("scroll", () => {
    if (atBottom()) $("new-pill").hidden = true;
    clearTimeout(scrolled);
    scrolled = setTimeout(markSeen, 150);
  });
  document.addEventListener("visibilitychange", markSeen);
  window.addEventListener("focus", markSeen);
}
