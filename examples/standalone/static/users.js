// The people on the page: a user picker under "Chat with user…" that
// searches the server's user directory as you type (GET /users, paged by
// "More users"), and display names and avatars (GET /profiles) wherever a
// user is shown. A typed id the directory does not know is refused by the
// server (404), so a typo opens no chat. Loaded before app.js: it only
// defines functions, which reach app.js's state when called.
"use strict";

const profiles = new Map(); // user -> { display_name, avatar_url }
const USERS_PER_READ = 100; // ids per GET /profiles or /presence, the server's limit
const picker = { next: null, request: 0, timer: null };

/** The name to show for `user`: their display name once known. */
function displayName(user) {
  const profile = profiles.get(user);
  return profile ? profile.display_name : user;
}

/** `users` as `user=…&user=…` queries of at most 100 (the server's limit for one read). */
function userQueries(users) {
  const queries = [];
  for (let start = 0; start < users.length; start += USERS_PER_READ) {
    queries.push(
      users
        .slice(start, start + USERS_PER_READ)
        .map((user) => `user=${encodeURIComponent(user)}`)
        .join("&"),
    );
  }
  return queries;
}

/** Fetches the profiles of `users` not known yet. */
async function loadProfiles(users) {
  const unknown = [...new Set(users)].filter((user) => !profiles.has(user));
  for (const query of userQueries(unknown)) {
    try {
      const found = await api("GET", `profiles?${query}`);
      found.users.forEach(rememberProfile);
    } catch (error) {
      return; // names fall back to ids; the next listing asks again
    }
  }
}

function rememberProfile(profile) {
  profiles.set(profile.user_id, { display_name: profile.display_name, avatar_url: profile.avatar_url });
}

/** Every member of every conversation: their names, and their partners' presence. */
async function loadPeople() {
  const members = [...state.conversations.values()].flatMap((c) => c.members);
  await loadProfiles(members);
  renderConversations();
  if (state.current) showHeader(state.current);
  await loadPresence();
}

/** A round picture, or the name's first letter when there is none. */
function avatar(user) {
  const profile = profiles.get(user);
  if (profile && profile.avatar_url && /^https?:\/\//i.test(profile.avatar_url)) {
    const image = document.createElement("img");
    image.className = "avatar";
    image.src = profile.avatar_url;
    image.alt = "";
    image.referrerPolicy = "no-referrer";
    return image;
  }
  const initial = document.createElement("span");
  initial.className = "avatar";
  initial.setAttribute("aria-hidden", "true");
  initial.textContent = displayName(user).slice(0, 1).toUpperCase();
  return initial;
}

/** Searches the directory for what is typed: a new search, or the next page. */
async function searchUsers(reset) {
  const request = ++picker.request;
  if (reset) picker.next = null;
  const search = $("direct-user").value.trim();
  const params = new URLSearchParams({ limit: "15" });
  if (search) params.set("q", search);
  if (!reset && picker.next) params.set("cursor", picker.next);
  $("users-more").hidden = true;
  try {
    const page = await api("GET", `users?${params}`);
    if (request !== picker.request) return; // a newer search superseded this one
    page.users.forEach(rememberProfile);
    const items = page.users.filter((user) => user.user_id !== state.me).map(userItem);
    if (reset) $("user-results").replaceChildren(...items);
    else $("user-results").append(...items);
    picker.next = page.next || null;
    $("users-more").hidden = !page.has_more;
    $("user-picker").hidden = $("user-results").children.length === 0;
  } catch (error) {
    if (request === picker.request) $("user-picker").hidden = true;
  }
}

function userItem(user) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "user";
  button.dataset.user = user.user_id;
  const name = document.createElement("span");
  name.className = "user-name";
  name.textContent = user.display_name;
  const id = document.createElement("span");
  id.className = "user-id";
  id.textContent = user.display_name === user.user_id ? "" : user.user_id;
  button.append(avatar(user.user_id), name, id);
  button.addEventListener("click", async () => {
    if (await openDirect(user.user_id)) closePicker();
  });
  item.append(button);
  return item;
}

function closePicker() {
  picker.request++;
  $("direct-user").value = "";
  $("user-picker").hidden = true;
}

/** Wires the picker; app.js calls it once, before it starts. */
function wireUsers() {
  $("direct-user").addEventListener("input", () => {
    clearTimeout(picker.timer);
    picker.timer = setTimeout(() => searchUsers(true), 200);
  });
  $("direct-user").addEventListener("focus", () => searchUsers(true));
  $("direct-user").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePicker();
    if (event.key === "ArrowDown") {
      const first = $("user-results").querySelector("button");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  $("user-results").addEventListener("keydown", (event) => {
    const buttons = [...$("user-results").querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < buttons.length - 1) buttons[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? buttons[at - 1] : $("direct-user")).focus();
    else if (event.key === "Escape") closePicker();
    else return;
    event.preventDefault();
  });
  $("users-more").addEventListener("click", () => searchUsers(false));
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#new-direct, #user-picker")) $("user-picker").hidden = true;
  });
}
