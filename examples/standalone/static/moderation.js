// Moderation on the page: the members panel of a group (roles, and the
// actions the viewer's role allows: add, make admin, hand over, mute,
// remove, ban, delete the group), blocking the other user of a direct
// conversation, reporting a message, and the events that change roles
// (docs/security.md has who may do what; the server decides). Loaded before
// app.js: it only defines functions, which reach app.js's state when called.
"use strict";

const moderation = {
  blocked: new Set(), // users this user blocks, from GET /blocks and our own changes
};

/** This user's role in a conversation summary: "owner", "admin", "member" or null. */
function roleOf(summary, user) {
  if (!summary || !summary.members.includes(user)) return null;
  if (summary.owner === user) return "owner";
  if ((summary.admins || []).includes(user)) return "admin";
  return "member";
}

function moderates(summary) {
  const role = roleOf(summary, state.me);
  return role === "owner" || role === "admin";
}

/** Whether this user may write in the conversation now (muted members read only). */
function mayWrite(summary) {
  return !summary || !(summary.muted || []).includes(state.me);
}

/** The header's extras: the members button, block, the composer's state. */
function showModeration(cid) {
  const summary = state.conversations.get(cid);
  const group = summary && summary.kind === "group";
  $("members-toggle").hidden = !group;
  if (!group) $("members-panel").hidden = true;
  const other = summary && summary.kind === "direct" ? summary.members.find((m) => m !== state.me) : null;
  $("block").hidden = !other || other === state.me;
  if (other) $("block").textContent = moderation.blocked.has(other) ? "Unblock" : "Block";
  const writable = mayWrite(summary);
  $("body").disabled = !writable;
  $("send").disabled = !writable;
  $("body").placeholder = writable ? "Write a message…" : "You are muted here: you can read, not write";
  if (!$("members-panel").hidden) renderMembers(cid);
}

function badge(summary, user) {
  const role = roleOf(summary, user);
  const marks = [];
  if (role === "owner") marks.push("👑 owner");
  if (role === "admin") marks.push("★ admin");
  if ((summary.muted || []).includes(user)) marks.push("🔇 muted");
  return marks.join(" · ");
}

/** The members panel: each member with their role and the actions this user may take. */
function renderMembers(cid) {
  const summary = state.conversations.get(cid);
  const list = $("members-list");
  list.innerHTML = "";
  if (!summary) return;
  const mine = roleOf(summary, state.me);
  for (const user of summary.members) {
    const item = document.createElement("li");
    item.dataset.user = user;
    const name = document.createElement("span");
    name.className = "member-name";
    name.textContent = user === state.me ? `${user} (you)` : user;
    const marks = document.createElement("span");
    marks.className = "member-role";
    marks.textContent = badge(summary, user);
    item.append(name, marks);
    const theirs = roleOf(summary, user);
    const actions = document.createElement("span");
    actions.className = "member-actions";
    const action = (label, run) => {
      const button = document.createElement("button");
      button.className = "ghost small";
      button.textContent = label;
      button.addEventListener("click", run);
      actions.append(button);
    };
    const path = `conversations/${cid}`;
    const them = encodeURIComponent(user);
    if (user !== state.me && theirs !== "owner") {
      if (mine === "owner") {
        const promote = theirs === "admin" ? "member" : "admin";
        action(theirs === "admin" ? "Make member" : "Make admin", () =>
          moderate("PUT", `${path}/members/${them}/role`, { role: promote }));
        action("Make owner", () => {
          if (confirm(`Hand the group over to ${user}? You stay an admin.`)) {
            moderate("PUT", `${path}/owner`, { user_id: user });
          }
        });
      }
      if (mine === "owner" || mine === "admin") {
        const muted = (summary.muted || []).includes(user);
        action(muted ? "Unmute" : "Mute", () => moderate(muted ? "DELETE" : "PUT", `${path}/mutes/${them}`));
        action("Remove", () => moderate("DELETE", `${path}/members/${them}`));
        action("Ban", () => {
          if (confirm(`Ban ${user}? They are removed and cannot come back until unbanned.`)) {
            moderate("PUT", `${path}/bans/${them}`);
          }
        });
      }
    }
    item.append(actions);
    list.append(item);
  }
  $("member-add").hidden = !(moderates(summary) || summary.members_can_add);
  $("delete-group").hidden = !moderates(summary);
  $("members-can-add-row").hidden = !moderates(summary);
  $("members-can-add").checked = Boolean(summary.members_can_add);
}

/** A moderation call; its event (if any) is applied as any live one is. */
async function moderate(method, path, body) {
  try {
    const event = await api(method, path, body);
    if (event && event.type) onModerationEvent(event);
  } catch (error) {
    toast(error.message);
  }
}

/** A user as the object of a sentence. */
function whom(user) {
  return user === state.me ? "you" : user;
}

/** Every event that changes roles, mutes or bans: a notice, and the summary read again. */
function onModerationEvent(event) {
  const cid = event.conversation_id;
  const [by, user] = [who(event.by), whom(event.user_id)];
  const texts = {
    role_changed: () => `${by} made ${user} ${event.role === "admin" ? "an admin" : "a member"}`,
    owner_changed: () => `${by} handed the group over to ${user}`,
    banned: () => `${by} banned ${user}`,
    unbanned: () => `${by} lifted the ban on ${user}`,
    muted: () => `${by} muted ${user}`,
    unmuted: () => `${by} unmuted ${user}`,
    settings_changed: () =>
      event.members_can_add ? `${by} let every member add others` : `${by} made adding members admins-only`,
  };
  if (event.type === "banned" && event.user_id === state.me) {
    toast("You were banned from this group");
    closeConversation(cid);
    return;
  }
  addNotice(event, texts[event.type]());
  refreshConversation(cid);
}

/** Lists again (the summaries carry owner, admins and muted), then redraws the open one. */
function refreshConversation(cid) {
  loadConversations().then(() => {
    if (cid === state.current) {
      showHeader(cid);
      renderMessages(false);
    }
  });
}

function onConversationDeleted(event) {
  const summary = state.conversations.get(event.conversation_id);
  const name = summary ? conversationName(summary) : "A group";
  if (event.by !== state.me) toast(`${name} was deleted by ${event.by}`);
  closeConversation(event.conversation_id);
}

async function loadBlocks() {
  try {
    const { users } = await api("GET", "blocks");
    moderation.blocked = new Set(users);
    if (state.current) showModeration(state.current);
  } catch (error) {
    toast(error.message);
  }
}

async function toggleBlock() {
  const summary = state.conversations.get(state.current);
  const other = summary && summary.members.find((m) => m !== state.me);
  if (!other) return;
  const blocked = moderation.blocked.has(other);
  if (!blocked && !confirm(`Block ${other}? They can no longer write to you or add you to groups.`)) return;
  try {
    await api(blocked ? "DELETE" : "PUT", `blocks/${encodeURIComponent(other)}`);
    if (blocked) moderation.blocked.delete(other);
    else moderation.blocked.add(other);
    showModeration(state.current);
  } catch (error) {
    toast(error.message);
  }
}

async function reportMessage(message) {
  const reason = prompt(`Report this message by ${message.sender} to the moderators. Why?`);
  if (!reason || !reason.trim()) return;
  try {
    await api("POST", "reports", { message_id: message.id, reason });
    toast("Reported. Thank you.");
  } catch (error) {
    toast(error.message);
  }
}

/** Wires this file's controls; app.js calls it once, before it starts. */
function wireModeration() {
  $("members-toggle").addEventListener("click", () => {
    $("members-panel").hidden = !$("members-panel").hidden;
    if (!$("members-panel").hidden) renderMembers(state.current);
  });
  $("block").addEventListener("click", toggleBlock);
  $("members-can-add").addEventListener("change", (event) =>
    moderate("PUT", `conversations/${state.current}/settings`, { members_can_add: event.target.checked }));
  $("member-add").addEventListener("submit", async (event) => {
    event.preventDefault();
    const user = $("member-add-user").value.trim();
    if (!user) return;
    try {
      await api("POST", `conversations/${state.current}/members`, { user_id: user });
      $("member-add-user").value = "";
    } catch (error) {
      toast(error.message);
    }
  });
  $("delete-group").addEventListener("click", async () => {
    const cid = state.current;
    if (!confirm("Delete this group and its whole history, for everyone?")) return;
    try {
      await api("DELETE", `conversations/${cid}`);
      closeConversation(cid);
    } catch (error) {
      toast(error.message);
    }
  });
}
