// The client's typed calls against the real server: a message, its edit,
// a reaction and a delete, each acknowledged and seen by the other member
// once and in seq order; typing throttled to one notice per interval; a
// read mark; history and read marks over REST.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WebSocket } from "ws";

import { ChatClient } from "../dist/index.js";
import { call, startServer } from "../support/server.mjs";

/** A started client of `user` that records what it hands on. */
function client(base, user) {
  const chat = new ChatClient({ baseUrl: `http://${base}`, token: () => user, WebSocket });
  const seen = { timeline: [], live: [], connected: 0 };
  const waiters = [];
  chat.on((event) => {
    if (event.type === "timeline") seen.timeline.push(event.event);
    if (event.type === "live") seen.live.push(event.event);
    if (event.type === "connected") seen.connected += 1;
    for (const waiter of waiters.splice(0)) waiter();
  });
  const until = async (predicate) => {
    while (!predicate()) await new Promise((resolve) => waiters.push(resolve));
  };
  return { chat: chat.start(), seen, until };
}

test("edits, reactions, deletes, typing and read marks through the client", { timeout: 60_000 }, async () => {
  const server = await startServer(join(mkdtempSync(join(tmpdir(), "chat-ts-")), "chat.db"), ["--send-rate", "0"]);
  for (const user of ["alice", "bob"]) assert.equal((await call("GET", server.base, user, "/conversations"))[0], 200);
  const [, direct] = await call("PUT", server.base, "alice", "/direct/bob");
  const alice = client(server.base, "alice");
  const bob = client(server.base, "bob");
  await alice.until(() => alice.seen.connected > 0);
  await bob.until(() => bob.seen.connected > 0);
  alice.chat.follow(direct.id, 0);
  bob.chat.follow(direct.id, 0);

  const sent = await alice.chat.send(direct.id, "hello").settled;
  assert.equal(sent.state, "sent");
  assert.equal(sent.message.seq, 1);
  assert.equal((await alice.chat.edit(direct.id, 1, "hello!").settled).seq, 2);
  assert.equal((await bob.chat.react(direct.id, 1, "👍").settled).seq, 3);
  assert.equal((await alice.chat.delete(direct.id, 1).settled).seq, 4);
  await bob.until(() => bob.seen.timeline.length >= 4);
  assert.deepEqual(
    bob.seen.timeline.map((event) => event.type),
    ["message", "edited", "reaction_added", "deleted"],
  );
  const refused = await bob.chat.edit(direct.id, 1, "not mine").settled;
  assert.equal(refused.state, "failed", "one edits only one's own messages");

  assert.equal(alice.chat.typing(direct.id), true);
  assert.equal(alice.chat.typing(direct.id), false, "a second notice within the interval is not sent");
  await bob.until(() => bob.seen.live.some((event) => event.type === "typing"));
  assert.equal(bob.chat.read(direct.id, 4), true);
  await alice.until(() => alice.seen.live.some((event) => event.type === "read" && event.user_id === "bob"));

  const page = await bob.chat.history(direct.id);
  assert.equal(page.messages.length, 1);
  assert.equal(page.messages[0].deleted, true, "history gives the current state");
  const marks = await alice.chat.readMarks(direct.id);
  assert.equal(marks.reads.find((mark) => mark.user_id === "bob").seq, 4);
  const list = await bob.chat.conversations();
  assert.equal(list.conversations[0].id, direct.id);
  alice.chat.close();
  bob.chat.close();
  await server.kill();
});
