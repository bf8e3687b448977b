// The standalone server's page in headless Chromium, as two people use it:
// alice and bob (two browser contexts) chat directly, see each other typing
// and reading, meet in a public room, alice talks to the echo bot, bob
// reloads and finds the history intact; in a group they react, reply, edit,
// delete, talk in a thread, pin and search; then they moderate: roles, a
// mute, a block, deleting a group; then preferences, and bob's presence as
// alice sees it. Every wait is for something on the
// page; screenshots go to CHAT_E2E_OUTPUT (default target/e2e).
//
// By default one server runs on the embedded default (a SQLite file, the
// in-process bus). With CHAT_E2E_DATABASE_URL (MySQL) and CHAT_E2E_REDIS_URL
// two nodes share them, and alice and bob use different nodes.
//
// Run by scripts/e2e, which builds the server and installs Chromium and
// playwright-core; by hand: `cd e2e && npm ci && node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BOT,
  bubble,
  conversationNamed,
  exactly,
  message,
  person as signIn,
  rest,
  say,
  servedAndBrowsed,
  shot,
  stepsOf,
} from "./support.mjs";

const fixture = servedAndBrowsed();

/** A person on `base`, signed in. */
function person(name, base) {
  return signIn(fixture.browser, name, base);
}

test("two people chat, meet in a room, talk to the bot, and reload", async (t) => {
  // alice's node, then bob's (the same one without Redis).
  const bases = [fixture.servers[0].url, fixture.servers.at(-1).url];
  const alice = await person("alice", bases[0]);
  const bob = await person("bob", bases[1]);
  const step = stepsOf(t, { alice, bob });
  await step("a direct chat: messages, typing, read receipts", async () => {
    await alice.fill("#direct-user", "bob");
    await alice.press("#direct-user", "Enter");
    await alice.locator("#chat-title", { hasText: "bob" }).waitFor();
    await say(alice, "Hi Bob 👋");

    const listed = conversationNamed(bob, "alice");
    await listed.locator(".badge", { hasText: "1" }).waitFor();
    await listed.click();
    await bubble(bob, "Hi Bob 👋").waitFor();
    await alice.locator(".msg.mine .meta", { hasText: "Seen by bob" }).waitFor();

    await bob.fill("#body", "typing…");
    await bob.dispatchEvent("#body", "input");
    await alice.locator("#typing", { hasText: "bob is typing" }).waitFor();
    // While bob types, alice opens another conversation: his typing is not shown there.
    await alice.click("#bot-chat");
    await alice.locator("#chat-title", { hasText: BOT }).waitFor();
    assert.equal(await alice.textContent("#typing"), "", "typing elsewhere is not shown here");
    await conversationNamed(alice, "bob").click();
    await alice.locator("#chat-title", { hasText: "bob" }).waitFor();
    await bob.fill("#body", "");
    await say(bob, "Hello Alice");
    await bubble(alice, "Hello Alice").waitFor();
    assert.equal(await alice.textContent("#typing"), "", "a message ends its sender's typing");

    // An attachment (sent through the API: the page has no upload) shows as a link.
    const direct = await (await rest(bases[0], "alice", "PUT", "direct/bob")).json();
    const attachment = { url: "https://files.example.com/a1", size: 52133, mime: "image/png", name: "plan.png" };
    const sent = await rest(bases[0], "alice", "POST", `conversations/${direct.id}/messages`, {
      body: "the plan",
      content: { kind: "attachment", payload: attachment },
    });
    assert.equal(sent.status, 201);
    const link = bob.locator("#message-list .content a", { hasText: "plan.png (image/png, 51 KiB)" });
    assert.equal(await link.getAttribute("href"), attachment.url);
    await shot(alice, "direct-chat");
  });

  await step("a public room: created, found by search, joined, left", async () => {
    await alice.click("details.new-group:not(#rooms-panel) summary");
    await alice.fill("#group-title", "Rustaceans");
    await alice.check("#group-public");
    await alice.click("#new-group button[type=submit]");
    await alice.locator("#chat-title", { hasText: "# Rustaceans" }).waitFor();

    await bob.click("#rooms-panel summary");
    await bob.fill("#room-query", "RUST");
    const room = bob.locator("#rooms li", { hasText: "# Rustaceans" });
    await room.locator("button", { hasText: "Join" }).click();
    await bob.locator("#chat-title", { hasText: "# Rustaceans" }).waitFor();
    await alice.locator("#message-list .notice", { hasText: "bob joined" }).waitFor();
    await alice.locator("#chat-members", { hasText: "alice, bob" }).waitFor();
    await say(bob, "hi room");
    await bubble(alice, "hi room").waitFor();
    await shot(bob, "public-room");

    bob.once("dialog", (dialog) => dialog.accept());
    await bob.click("#leave");
    await bob.locator("#empty").waitFor();
    await alice.locator("#message-list .notice", { hasText: "bob left" }).waitFor();
    assert.equal(await conversationNamed(bob, "# Rustaceans").count(), 0);
  });

  await step("the bot answers, and its buttons send commands", async () => {
    await alice.click("#bot-chat");
    await alice.locator("#chat-title", { hasText: BOT }).waitFor();
    await say(alice, "/help");
    const chip = alice.locator("#message-list .chip", { hasText: "/upper hello" });
    await chip.click();
    await bubble(alice, "HELLO").waitFor();
    await shot(alice, "bot");
  });

  await step("a reload keeps the history", async () => {
    await bob.reload();
    await bob.locator("#status", { hasText: "online" }).waitFor();
    await conversationNamed(bob, "alice").click();
    await bubble(bob, "Hi Bob 👋").waitFor();
    await bubble(bob, "Hello Alice").waitFor();
    await bob.locator("#message-list .content a", { hasText: "plan.png" }).waitFor();
    const bodies = await bob.locator("#message-list .bubble").allTextContents();
    assert.deepEqual(bodies, ["Hi Bob 👋", "Hello Alice", "the plan📎 plan.png (image/png, 51 KiB)"]);
    await shot(bob, "after-reload");
  });

  await step("the timeline: react, reply, edit, delete, thread, pin, search, seen by after a reload", async () => {
    // The form is still open from the room made above.
    assert.equal(await alice.locator("details.new-group:not(#rooms-panel)").getAttribute("open"), "");
    await alice.fill("#group-title", "Plans");
    await alice.fill("#group-members", "bob");
    await alice.click("#new-group button[type=submit]");
    await alice.locator("#chat-title", { hasText: "Plans" }).waitFor();
    await say(alice, "Lunch at noon?");
    await conversationNamed(bob, "Plans").click();
    const lunch = (page) => message(page, /^Lunch at/);

    await lunch(bob).locator('.actions [data-action="React 👍"]').click();
    await lunch(alice).locator(".reaction", { hasText: "👍 1" }).waitFor();
    await lunch(bob).locator(".reaction.mine", { hasText: "👍 1" }).waitFor();

    await lunch(bob).locator('.actions [data-action="Reply"]').click();
    await bob.locator("#compose-context", { hasText: "Replying to alice: Lunch at noon?" }).waitFor();
    await say(bob, "Yes, noon works");
    const reply = message(alice, /^Yes, noon works$/);
    await reply.locator(".quote", { hasText: "alice: Lunch at noon?" }).waitFor();

    await lunch(alice).locator('.actions [data-action="Edit"]').click();
    assert.equal(await alice.inputValue("#body"), "Lunch at noon?", "the composer holds the text to edit");
    await alice.fill("#body", "Lunch at 1pm?");
    await alice.press("#body", "Enter");
    await lunch(bob).locator(".bubble", { hasText: exactly("Lunch at 1pm?") }).waitFor();
    await lunch(bob).locator(".meta", { hasText: "edited" }).waitFor();
    await message(bob, /^Yes, noon works$/).locator(".quote", { hasText: "alice: Lunch at 1pm?" }).waitFor();

    await say(alice, "oops, wrong chat");
    alice.once("dialog", (dialog) => dialog.accept());
    await message(alice, /^oops, wrong chat$/).locator('.actions [data-action="Delete"]').click();
    await bob.locator("#message-list .msg.deleted .bubble", { hasText: "This message was deleted" }).waitFor();
    assert.equal(await bubble(bob, "oops, wrong chat").count(), 0, "the text is gone from bob's page");

    await lunch(bob).locator('.actions [data-action="Thread"]').click();
    await bob.locator("#thread").waitFor();
    await bob.fill("#thread-body", "I'll book a table");
    await bob.press("#thread-body", "Enter");
    await bob.locator("#thread-list .msg.mine:not(.pending) .bubble", { hasText: "I'll book a table" }).waitFor();
    await lunch(alice).locator(".thread-link", { hasText: "1 reply" }).click();
    await alice.locator("#thread-list .bubble", { hasText: exactly("I'll book a table") }).waitFor();
    assert.equal(await bubble(alice, "I'll book a table").count(), 0, "a thread reply stays out of the conversation");

    await lunch(alice).locator('.actions [data-action="Pin"]').click();
    await bob.locator("#pins-toggle", { hasText: "📌 1" }).waitFor();
    await lunch(bob).locator(".meta", { hasText: "pinned" }).waitFor();
    await shot(alice, "timeline");

    // Search from another conversation: the hit opens "Plans" at the message.
    await alice.click("#bot-chat");
    await alice.locator("#chat-title", { hasText: BOT }).waitFor();
    await alice.fill("#search", "noon works");
    const hit = alice.locator("#search-results li", { hasText: "bob: Yes, noon works" });
    await hit.waitFor();
    assert.equal(await alice.locator("#thread").isHidden(), true, "the thread pane closes with its conversation");
    await shot(alice, "search");
    await hit.click();
    await alice.locator("#chat-title", { hasText: "Plans" }).waitFor();
    await alice.locator("#message-list .msg.hit .bubble", { hasText: "Yes, noon works" }).waitFor();
    await alice.fill("#search", "wrong chat");
    await alice.locator("#search-results .none", { hasText: "No message matches." }).waitFor();
    await alice.fill("#search", "");

    // "Seen by" comes back after a reload, from the read marks.
    await bob.reload();
    await bob.locator("#status", { hasText: "online" }).waitFor();
    await conversationNamed(bob, "Plans").click();
    await message(bob, /^Yes, noon works$/).locator(".meta", { hasText: "Seen by alice" }).waitFor();
    await lunch(bob).locator(".reaction.mine", { hasText: "👍 1" }).waitFor();
    await lunch(bob).locator(".thread-link", { hasText: "1 reply" }).waitFor();
    await bob.locator("#message-list .msg.deleted").waitFor();
    await shot(bob, "timeline-after-reload");
  });

  await step("moderation: roles, a mute, a block, deleting a group", async () => {
    await alice.fill("#group-title", "Mods");
    await alice.fill("#group-members", "bob");
    await alice.click("#new-group button[type=submit]");
    await alice.locator("#chat-title", { hasText: "Mods" }).waitFor();
    await alice.click("#members-toggle");
    const bobsRow = alice.locator("#members-list li", { hasText: "bob" });
    await alice.locator("#members-list li", { hasText: "👑 owner" }).waitFor();
    await bobsRow.locator("button", { hasText: "Make admin" }).click();
    await bobsRow.locator(".member-role", { hasText: "★ admin" }).waitFor();
    await conversationNamed(bob, "Mods").click();
    await bob.locator("#message-list .notice", { hasText: "alice made you an admin" }).waitFor();

    await bobsRow.locator("button", { hasText: "Mute" }).click();
    await bob.locator("#body[disabled]").waitFor();
    assert.match(await bob.getAttribute("#body", "placeholder"), /muted/);
    await shot(alice, "members-panel");
    await shot(bob, "muted");
    await bobsRow.locator("button", { hasText: "Unmute" }).click();
    await bob.locator("#body:not([disabled])").waitFor();
    await say(bob, "free again");
    await alice.check("#members-can-add");
    await bob.locator("#message-list .notice", { hasText: "alice let every member add others" }).waitFor();

    // alice blocks bob in their direct conversation: his next message is refused.
    await conversationNamed(alice, "bob").click();
    alice.once("dialog", (dialog) => dialog.accept());
    await alice.click("#block");
    await alice.locator("#block", { hasText: "Unblock" }).waitFor();
    await conversationNamed(bob, "alice").click();
    await bob.fill("#body", "are you there?");
    await bob.press("#body", "Enter");
    // Refused for good: it stays on bob's page with the reason and "retry".
    const refused = bob.locator("#message-list .msg.failed", { has: bob.locator(".bubble", { hasText: "are you there?" }) });
    await refused.locator(".failure", { hasText: "does not accept" }).waitFor();
    await shot(bob, "failed-send");
    await alice.click("#block");
    await alice.locator("#block", { hasText: "Block" }).waitFor();
    await refused.locator("button", { hasText: "Retry" }).click();
    await bubble(alice, "are you there?").waitFor();
    await bob.locator("#message-list .msg.mine:not(.pending):not(.failed) .bubble", { hasText: "are you there?" }).waitFor();
    assert.equal(await bob.locator("#message-list .msg.failed").count(), 0, "the retried send is no longer failed");

    // An admin deletes the group: it is gone from both lists.
    await conversationNamed(bob, "Mods").click();
    await bob.click("#members-toggle");
    bob.once("dialog", (dialog) => dialog.accept());
    await bob.click("#delete-group");
    await conversationNamed(bob, "Mods").waitFor({ state: "detached" });
    await conversationNamed(alice, "Mods").waitFor({ state: "detached" });
    await alice.locator(".error-toast", { hasText: "Mods was deleted by bob" }).waitFor();
  });

  await step("preferences: pin to top, mute, archive, and back to the inbox, on every device", async () => {
    // alice's second device, on the other node when there are two.
    const tablet = await person("alice", bases[1]);
    await conversationNamed(alice, "Plans").click();
    await alice.click("#prefs-menu summary");
    await alice.click("#pin-toggle");
    for (const page of [alice, tablet]) {
      const top = page.locator("#conversations li").first();
      await top.locator(".name", { hasText: exactly("Plans") }).waitFor();
      await top.locator(".marks", { hasText: "📌" }).waitFor();
    }
    await alice.selectOption("#mute-for", "28800");
    await conversationNamed(alice, "Plans").locator(".marks", { hasText: "🔕" }).waitFor();
    await shot(alice, "preferences-menu");
    await alice.click("#archive-toggle");
    await conversationNamed(alice, "Plans").waitFor({ state: "detached" });
    await conversationNamed(tablet, "Plans").waitFor({ state: "detached" });
    await tablet.locator("#archived-summary", { hasText: "Archived (1)" }).waitFor();
    await tablet.context().close();
    await alice.click("#archived-summary");
    const archived = alice.locator("#archived li", { has: alice.locator(".name", { hasText: exactly("Plans") }) });
    await archived.waitFor();

    // A message keeps it archived; its unread count shows, quietly (muted).
    await conversationNamed(alice, "bob").click();
    await conversationNamed(bob, "Plans").click();
    await say(bob, "still archived?");
    await archived.locator(".badge.quiet", { hasText: "1" }).waitFor();
    await alice.locator("#archived-summary", { hasText: "1 unread" }).waitFor();
    await shot(alice, "archived");

    await archived.click();
    await bubble(alice, "still archived?").waitFor();
    await alice.click("#prefs-menu summary");
    await alice.click("#archive-toggle");
    await alice.locator("#conversations li").first().locator(".name", { hasText: exactly("Plans") }).waitFor();
    await alice.locator("#archived-panel").waitFor({ state: "hidden" });
  });

  await step("the user picker: search, a typo refused, paging, keyboard", async () => {
    // Twenty more users sign in (the directory is those who have).
    for (let n = 0; n < 20; n++) {
      const name = `user-${String(n).padStart(2, "0")}`;
      assert.equal((await rest(bases[1], name, "GET", "conversations")).status, 200);
    }
    await alice.fill("#direct-user", "bbo");
    await alice.locator("#user-picker").waitFor({ state: "hidden" });
    await alice.press("#direct-user", "Enter");
    await alice.locator(".error-toast", { hasText: "user bbo not found" }).waitFor();
    assert.equal(await conversationNamed(alice, "bbo").count(), 0, "a typo opens no chat");

    // Waits until the picker lists `count` users, all matching "user-".
    const listed = (count, more) =>
      alice.waitForFunction(
        ([count, more]) => {
          const found = [...document.querySelectorAll("#user-results button")];
          return (
            found.length === count &&
            found.every((button) => button.dataset.user.startsWith("user-")) &&
            document.getElementById("users-more").hidden === !more
          );
        },
        [count, more],
      );
    await alice.fill("#direct-user", "user-");
    await listed(15, true); // a page of 15, and more
    await alice.click("#users-more");
    await listed(20, false);
    await shot(alice, "user-picker");

    await alice.fill("#direct-user", "ser-07");
    await alice.waitForFunction(() => {
      const found = [...document.querySelectorAll("#user-results button")];
      return found.length === 1 && found[0].dataset.user === "user-07";
    });
    await alice.press("#direct-user", "ArrowDown");
    await alice.keyboard.press("Enter");
    await alice.locator("#chat-title", { hasText: exactly("user-07") }).waitFor();
    await alice.locator("#user-picker").waitFor({ state: "hidden" });
  });

  await step("presence: bob's online dot, then 'last seen' once he leaves (his node is not alice's when there are two)", async () => {
    const withBob = conversationNamed(alice, "bob");
    await withBob.locator(".presence-dot.online").waitFor();
    await withBob.click();
    await alice.locator("#chat-presence", { hasText: exactly("online") }).waitFor();
    await shot(alice, "presence-online");
    await bob.context().close();
    // After the server's grace (a reload would be no event at all).
    await withBob.locator(".presence-dot.offline").waitFor();
    await alice.locator("#chat-presence", { hasText: "last seen just now" }).waitFor();
    await shot(alice, "presence-last-seen");
  });
});
