// The page's promise across a crashing server, in headless Chromium: the
// server (a SQLite file) is killed with SIGKILL and restarted on the same
// port three times while bob sends 240 messages over REST (every tenth
// twice, with the same client_id, as a client that gave up waiting would)
// and alice, on the page, sends two messages each time the server is down.
// Alice's page must end with every stored message exactly once, in seq
// order, and nothing pending. Then her page cannot reach the socket (the
// route refuses it), she sends two messages and reloads: the reloaded page
// shows them pending (kept in IndexedDB) and, once the socket is let
// through, stores each once.
//
// It starts its own server, so it runs in scripts/e2e's embedded pass only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationNamed, launchBrowser, output, person, redisUrl, rest, serverLog, shot, startNode } from "./support.mjs";

const BOB = 240;
const KILLS = 3;
const ALICE_PER_KILL = 2;

let work;
let browser;
let server;

before(async () => {
  mkdirSync(output, { recursive: true });
  work = mkdtempSync(join(tmpdir(), "chat-e2e-restart-"));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Bob's sends over REST, each retried until the server answers it, whatever restarts. */
async function bobSends(base, cid) {
  for (let index = 0; index < BOB; index += 1) {
    for (let copy = 0; copy < (index % 10 === 0 ? 2 : 1); copy += 1) {
      for (;;) {
        const response = await rest(base, "bob", "POST", `conversations/${cid}/messages`, {
          body: `bob ${index}`,
          client_id: `bob-${index}`,
        }).catch(() => null);
        if (response && (response.status === 200 || response.status === 201)) break;
        await new Promise((next) => setTimeout(next, 20));
      }
    }
  }
}

/** Every message of the conversation as the server holds it. */
async function stored(base, cid) {
  const messages = [];
  for (let after = 0; ; ) {
    const page = await (await rest(base, "alice", "GET", `conversations/${cid}/messages?after=${after}&limit=200`)).json();
    if (page.messages.length === 0) return messages;
    messages.push(...page.messages);
    after = page.messages.at(-1).seq;
  }
}

/** Resolves once the page shows no send pending. */
function nonePending(page) {
  return page.waitForFunction(() => document.querySelector("#message-list .msg.pending") === null, null, { timeout: 30_000 });
}

/** The messages alice's page shows, in page order: [seq, text]. */
function shown(page) {
  return page.$$eval("#message-list li[data-seq]", (items) =>
    items.map((item) => [Number(item.dataset.seq), item.querySelector(".bubble").textContent]),
  );
}

test(
  "the page shows every stored message once, in order, across kill -9 restarts and a reload with unsent messages",
  { skip: redisUrl ? "starts its own SQLite server: runs in the embedded pass" : false, timeout: 240_000 },
  async () => {
    const database = ["--database-url", `sqlite://${join(work, "chat.db")}`, "--send-rate", "0"];
    server = await startNode(database);
    const base = server.url;
    const bind = new URL(base).host;
    assert.equal((await rest(base, "bob", "GET", "conversations")).status, 200);
    const direct = await (await rest(base, "alice", "PUT", "direct/bob")).json();
    const alice = await person(browser, "alice", base);
    try {
      await conversationNamed(alice, "bob").click();
      await alice.locator("#chat-title", { hasText: "bob" }).waitFor();
      const showing = (count) =>
        alice.waitForFunction((count) => document.querySelectorAll("#message-list li[data-seq]").length >= count, count, {
          timeout: 60_000,
        });

      const bob = bobSends(base, direct.id);
      for (let kill = 1; kill <= KILLS; kill += 1) {
        await showing((kill * BOB) / (KILLS + 1));
        await server.kill("SIGKILL");
        // The close waits behind the messages the page has yet to draw (it
        // redraws the conversation per message: a burst of hundreds takes
        // seconds), so as long as the messages may take.
        await alice.locator("#status", { hasText: "reconnecting" }).waitFor({ timeout: 60_000 });
        for (let index = 0; index < ALICE_PER_KILL; index += 1) {
          await alice.fill("#body", `alice ${kill}.${index}`);
          await alice.press("#body", "Enter");
        }
        await alice.locator("#message-list .msg.pending", { hasText: "Waiting for the connection" }).first().waitFor();
        server = await startNode(database, bind);
      }
      await bob;
      const total = BOB + KILLS * ALICE_PER_KILL;
      await showing(total);
      await nonePending(alice);
      const held = await stored(base, direct.id);
      assert.equal(held.length, total, "each send stored once");
      assert.deepEqual(
        await shown(alice),
        held.map((message) => [message.seq, message.body]),
        "the page shows what the store holds: each once, in seq order",
      );
      console.log(`page: ${KILLS} kills, ${total} messages: lost 0, duplicated 0`);

      // The socket refused: two sends wait, survive a reload, and go once let through.
      let refuse = true;
      await alice.routeWebSocket(/\/ws/, (socket) => (refuse ? socket.close({ code: 1013 }) : socket.connectToServer()));
      await alice.reload();
      await alice.locator("#status", { hasText: "reconnecting" }).waitFor();
      await conversationNamed(alice, "bob").click();
      for (const text of ["kept 1", "kept 2"]) {
        await alice.fill("#body", text);
        await alice.press("#body", "Enter");
      }
      await alice.locator("#message-list .msg.pending").nth(1).waitFor();
      await alice.reload();
      await conversationNamed(alice, "bob").click();
      const pending = alice.locator("#message-list .msg.pending .bubble");
      await pending.nth(1).waitFor();
      assert.deepEqual(await pending.allTextContents(), ["kept 1", "kept 2"], "kept across the reload, in order");
      await shot(alice, "restart-kept-across-reload");
      refuse = false;
      await alice.locator("#status", { hasText: "online" }).waitFor({ timeout: 30_000 });
      await nonePending(alice);
      const after = await stored(base, direct.id);
      assert.deepEqual(after.slice(total).map((message) => message.body), ["kept 1", "kept 2"], "stored once each");
      const latest = await shown(alice);
      assert.deepEqual(latest, after.slice(-latest.length).map((message) => [message.seq, message.body]));
    } catch (error) {
      await shot(alice, "restart-failure").catch(() => {});
      console.error(serverLog());
      throw error;
    }
  },
);
