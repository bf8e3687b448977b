// The outbox across a client restart, as a page reloaded while the server is
// unreachable: bob's first client takes ten sends it cannot deliver and is
// closed; a second client on the same store (IndexedDB in a browser, a Map
// here) restores them, in order, with their client_ids, and delivers each
// once when the server comes back. A write settled is forgotten by the store.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WebSocket } from "ws";

import { ChatClient } from "../dist/index.js";
import { call, history, startProxy, startServer } from "../support/server.mjs";

/** An outbox store in memory, shared by the clients of one test: what a browser's IndexedDB is to its pages. */
class MapStore {
  rows = new Map();
  async load() {
    return [...this.rows.values()];
  }
  async put(frame) {
    this.rows.set(frame.client_id, frame);
  }
  async remove(clientId) {
    this.rows.delete(clientId);
  }
}

test("writes made before a client restart are sent by the next client, once each", { timeout: 60_000 }, async () => {
  const database = join(mkdtempSync(join(tmpdir(), "chat-ts-")), "chat.db");
  const server = await startServer(database);
  for (const user of ["alice", "bob"]) assert.equal((await call("GET", server.base, user, "/conversations"))[0], 200);
  const [status, direct] = await call("PUT", server.base, "alice", "/direct/bob");
  assert.equal(status, 200);
  // Nothing listens on the proxy's upstream yet: the server is unreachable.
  const upstream = { address: "127.0.0.1:9" };
  const proxy = await startProxy(upstream);
  const store = new MapStore();
  const options = { baseUrl: `http://${proxy.base}`, token: () => "bob", WebSocket, backoff: { initialMs: 20, maxMs: 200 }, outboxStore: store };

  const first = new ChatClient(options);
  const queued = [];
  first.on((event) => event.type === "queued" && queued.push(event.send.clientId));
  first.start();
  const made = Array.from({ length: 10 }, (_, index) => first.send(direct.id, `offline ${index}`));
  assert.deepEqual(queued, made.map((send) => send.clientId), "each send is queued as it is made");
  // The store's puts are asynchronous: wait for them as a page's would commit.
  while (store.rows.size < made.length) await new Promise((resolve) => setImmediate(resolve));
  first.close();

  const second = new ChatClient(options);
  const restored = [];
  let progress = () => {};
  second.on((event) => {
    if (event.type === "queued") restored.push(event.send);
    progress();
  });
  second.start();
  await new Promise((resolve) => {
    progress = () => restored.length === made.length && resolve();
    progress();
  });
  assert.deepEqual(
    restored.map((send) => send.clientId),
    made.map((send) => send.clientId),
    "restored in the order they were made",
  );
  assert.deepEqual(second.pending().map((send) => send.clientId), made.map((send) => send.clientId));

  upstream.address = server.base;
  for (const send of restored) assert.equal((await send.settled).state, "sent", send.clientId);
  const stored = await history(server.base, "bob", direct.id);
  assert.deepEqual(
    stored.map((message) => [message.client_id, message.body]),
    made.map((send, index) => [send.clientId, `offline ${index}`]),
    "each stored once, in order",
  );
  while (store.rows.size > 0) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(second.pending().length, 0);
  second.close();
  proxy.close();
  await server.kill();
});
