// The conversation list: every page of it (and of the archived ones), each
// listed conversation followed by the client from where the list stands,
// drawn newest activity first, and operable by keyboard (one Tab stop,
// arrows, Enter). Loaded after app.js, whose state and helpers it uses.
"use strict";

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
        follow(listed);
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

/**
 * Has the client follow each listed conversation it does not know yet,
 * after the last seq the list shows: what came before is history (fetched
 * when opened), everything after reaches the page once, in order.
 */
function follow(listed) {
  const known = state.client.positions();
  for (const conversation of listed) {
    if (!(conversation.id in known)) state.client.follow(conversation.id, listedSeq(conversation.id));
  }
}

function renderConversations() {
  const all = [...state.conversations.values()];
  const main = all.filter((c) => !preferencesOf(c).archived).sort(listOrder);
  const archived = all.filter((c) => preferencesOf(c).archived).sort((a, b) => activityOf(b).localeCompare(activityOf(a)));
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("li[data-id]");
  $("conversations").replaceChildren(...main.map(conversationItem));
  $("archived").replaceChildren(...archived.map(conversationItem));
  rovingFocus($("conversations"));
  rovingFocus($("archived"));
  // Redrawn under the keyboard: the focus stays on the same conversation.
  if (focused) {
    const again = document.querySelector(`.conversations li[data-id="${CSS.escape(focused.dataset.id)}"]`);
    if (again) {
      for (const item of again.parentElement.children) item.tabIndex = -1;
      again.tabIndex = 0;
      again.focus();
    }
  }
  $("archived-panel").hidden = archived.length === 0;
  const unread = archived.filter((c) => c.unread > 0 && c.id !== state.current).length;
  $("archived-summary").textContent = `Archived (${archived.length})${unread ? ` · ${unread} unread` : ""}`;
  updateTitle();
}

function conversationItem(conversation) {
  const item = document.createElement("li");
  item.dataset.id = conversation.id;
  item.setAttribute("role", "option");
  item.tabIndex = -1;
  const active = conversation.id === state.current;
  item.setAttribute("aria-selected", String(active));
  if (active) item.classList.add("active");
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

/**
 * The lists are one stop for Tab (the open conversation's item, else the
 * first); arrows, Home and End move within them, Enter or Space opens.
 */
function rovingFocus(list) {
  const items = [...list.children];
  const current = items.find((item) => item.classList.contains("active")) || items[0];
  if (current) current.tabIndex = 0;
}

function onListKey(event) {
  const item = event.target.closest("li[data-id]");
  if (!item) return;
  const items = [...event.currentTarget.querySelectorAll("li[data-id]")];
  const at = items.indexOf(item);
  const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
  if (event.key in moves) {
    event.preventDefault();
    const next = items[Math.max(0, Math.min(items.length - 1, moves[event.key]))];
    for (const other of items) other.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    openConversation(item.dataset.id);
  }
}
