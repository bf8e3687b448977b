// The client against the real server, killed with SIGKILL and restarted on
// the same file five times while alice sends over REST (every tenth
// message twice, as a client that gave up waiting would) and bob, on the
// client, sends ten messages after each kill while the server is down.
// Bob's client must end with every stored message exactly once and in seq
// order, and each of his sends stored once.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WebSocket } from "ws";

import { ChatClient } from "../dist/index.js";
import { call, history, mint, startProxy, startServer } from "../support/server.mjs";

const ALICE = 400;
const KILLS = 5;
const BOB_PER_KILL = 10;

/** Alice's sends through the proxy, each retried until the server answers it. */
async function aliceSends(base, cid) {
  for (let index = 0; index < ALICE; index += 1) {
    for (let copy = 0; copy < (index % 10 === 0 ? 2 : 1); copy += 1) {
      const body = { body: `alice ${index}`, client_id: `a-${index}` };
      for (;;) {
        const status = await call("POST", base, "alice", `/conversations/${cid}/messages`, body).then(
          ([status]) => status,
          () => 0,
        );
        if (status === 200 || status === 201) break; // 200: a repeat, answered with the stored message
        // The server is down or restarting: try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

test("every stored message reaches the client once, in order, across kill -9 restarts", { timeout: 180_000 }, async () => {
  const database = join(mkdtempSync(join(tmpdir(), "chat-ts-")), "chat.db");
  const flags = ["--send-rate", "0"];
  let server = await startServer(database, flags);
  const upstream = { address: server.base };
  const proxy = await startProxy(upstream);
  for (const user of ["alice", "bob"]) assert.equal((await call("GET", proxy.base, user, "/conversations"))[0], 200);
  const [status, direct] = await call("PUT", proxy.base, "alice", "/direct/bob");
  assert.equal(status, 200);

  const bob = new ChatClient({
    baseUrl: `http://${proxy.base}`,
    token: () => "bob",
    WebSocket,
    backoff: { initialMs: 20, maxMs: 500 },
  });
  const seqs = [];
  const keys = [];
  let connects = 0;
  let progress = () => {};
  bob.on((event) => {
    if (event.type === "timeline" && event.event.type === "message") {
      seqs.push(event.event.message.seq);
      keys.push(event.event.message.client_id);
      progress();
    } else if (event.type === "connected") {
      connects += 1;
    }
  });
  bob.start();
  bob.follow(direct.id, 0);
  const until = (count) =>
    new Promise((resolve) => {
      progress = () => seqs.length >= count && resolve();
      progress();
    });

  const alice = aliceSends(proxy.base, direct.id);
  const sends = [];
  for (let kill = 1; kill <= KILLS; kill += 1) {
    await until((kill * ALICE) / (KILLS + 1));
    await server.kill();
    for (let index = 0; index < BOB_PER_KILL; index += 1) {
      sends.push(bob.send(direct.id, { body: `bob ${kill}.${index}`, client_id: `b-${kill}-${index}` }));
    }
    server = await startServer(database, flags);
    upstream.address = server.base;
  }
  await alice;
  const total = ALICE + KILLS * BOB_PER_KILL;
  await until(total);
  for (const send of sends) assert.equal((await send.settled).state, "sent", send.clientId);

  assert.deepEqual(seqs, Array.from({ length: total }, (_, index) => index + 1), "seqs out of order, twice or missing");
  const stored = await history(server.base, "bob", direct.id);
  assert.deepEqual(
    stored.map((message) => message.client_id),
    keys,
    "the client saw what the store holds",
  );
  assert.equal(new Set(keys).size, total, "a client_id stored twice");
  assert.ok(connects > KILLS, `${connects} connections for ${KILLS} kills`);
  console.log(`typescript client: ${KILLS} kills, ${total} messages, ${connects} connections: lost 0, duplicated 0`);
  bob.close();
  proxy.close();
  await server.kill();
});

test("a client whose token expires comes back with a fresh one", { timeout: 60_000 }, async () => {
  const secret = "a token secret of thirty-two bytes or more";
  const database = join(mkdtempSync(join(tmpdir(), "chat-ts-")), "chat.db");
  const server = await startServer(database, ["--secret", secret]);
  const [alice, bobLong] = [mint(secret, "alice", 600), mint(secret, "bob", 600)];
  assert.equal((await call("GET", server.base, bobLong, "/conversations"))[0], 200);
  const [status, direct] = await call("PUT", server.base, alice, "/direct/bob");
  assert.equal(status, 200);

  let asked = 0;
  const bob = new ChatClient({
    baseUrl: `http://${server.base}`,
    // Two-second tokens: the server closes the socket (4002) as each expires.
    token: () => {
      asked += 1;
      return mint(secret, "bob", 2);
    },
    WebSocket,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  const seqs = [];
  let expired = 0;
  let progress = () => {};
  bob.on((event) => {
    if (event.type === "timeline" && event.event.type === "message") seqs.push(event.event.message.seq);
    if (event.type === "disconnected" && event.reason.includes("4002")) expired += 1;
    progress();
  });
  bob.start();
  bob.follow(direct.id, 0);
  for (let index = 0; index < 25; index += 1) {
    const [sent] = await call("POST", server.base, alice, `/conversations/${direct.id}/messages`, { body: `tick ${index}` });
    assert.equal(sent, 201);
    // Paced, not synchronised: the sends spread over several tokens' lives.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => {
    progress = () => seqs.length >= 25 && resolve();
    progress();
  });
  assert.deepEqual(seqs, Array.from({ length: 25 }, (_, index) => index + 1));
  assert.ok(expired >= 1, "no socket closed for an expired token");
  assert.ok(asked > expired, `the provider was asked ${asked} times for ${expired} expiries`);
  bob.close();
  await server.kill();
});
