// The client's recovery paths, against a fake socket and a fake REST API
// (the server never leaves holes a replay does not fill, so these cannot
// be provoked against it): a hole that stays open is fetched after the
// timeout, a `gap` event is fetched at once, duplicates are dropped, and
// a send refused as retryable goes again.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../dist/index.js";

const message = (seq) => ({ type: "message", message: { seq, conversation_id: "c", client_id: `m${seq}` } });

/** Wakes whoever waits for the fakes or the client to do something. */
const waiters = [];
const changed = () => {
  for (const waiter of waiters.splice(0)) waiter();
};
/** Resolves once `predicate` holds, checked whenever something happened. */
async function until(predicate) {
  while (!predicate()) await new Promise((resolve) => waiters.push(resolve));
}

/** A socket the test drives: it records what the client writes. */
class FakeSocket {
  static last;
  readyState = 1;
  written = [];
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor(url) {
    this.url = url;
    FakeSocket.last = this;
    changed();
  }
  send(text) {
    this.written.push(JSON.parse(text));
    changed();
  }
  close() {
    this.readyState = 3;
  }
  deliver(event) {
    this.onmessage({ data: JSON.stringify(event) });
  }
}

/** A client on fakes, connected and following "c" from 0; the REST API
 * answers GET …/events?after=N with seqs N+1..upTo. */
async function client(upTo) {
  const fetched = [];
  const fetch = async (url) => {
    const after = Number(new URL(url).searchParams.get("after"));
    fetched.push(after);
    const events = [];
    for (let seq = after + 1; seq <= upTo; seq += 1) events.push(message(seq));
    return new Response(JSON.stringify({ events, has_more: false }), { status: 200 });
  };
  const chat = new ChatClient({ baseUrl: "http://chat.test", token: () => "bob", WebSocket: FakeSocket, fetch, holeTimeoutMs: 50 });
  const timeline = [];
  chat.on((event) => {
    if (event.type === "timeline") timeline.push(event.event.message.seq);
    changed();
  });
  FakeSocket.last = undefined;
  chat.start();
  await until(() => FakeSocket.last !== undefined);
  const socket = FakeSocket.last;
  socket.deliver({ type: "ready", user_id: "bob" });
  chat.follow("c", 0);
  return { chat, socket, timeline, fetched };
}

test("a hole that stays open is fetched after the timeout", async () => {
  const { chat, socket, timeline, fetched } = await client(4);
  socket.deliver(message(1));
  socket.deliver(message(1));
  socket.deliver(message(4));
  await until(() => timeline.length >= 4);
  assert.deepEqual(timeline, [1, 2, 3, 4], "the hole 2..3 fetched, the duplicate dropped");
  assert.deepEqual(fetched, [1], "one fetch, from the contiguous seq");
  assert.ok(socket.url.endsWith("/ws?resume=first&token=bob"));
  chat.close();
});

test("a gap is fetched at once, and a retryable refusal is sent again", async () => {
  const { chat, socket, timeline, fetched } = await client(3);
  socket.deliver({ type: "gap", conversation_id: "c", from_seq: 1 });
  await until(() => timeline.length >= 3);
  assert.deepEqual(fetched, [0]);

  const pending = chat.send("c", { body: "hello", client_id: "k1" });
  const sends = () => socket.written.filter((frame) => frame.type === "send");
  assert.equal(sends().length, 1);
  socket.deliver({ type: "error", client_id: "k1", error: { code: "unavailable", message: "down", retryable: true } });
  // The client's own timer sends it again after its retry wait.
  await until(() => sends().length === 2);
  socket.deliver({ type: "ack", client_id: "k1", message: { ...message(4).message, body: "hello" } });
  assert.equal((await pending.settled).state, "sent");
  chat.close();
});

test("errors not tied to a pending write are handed on; a retryable refusal of one is not", async () => {
  const { chat, socket } = await client(0);
  const live = [];
  chat.on((event) => event.type === "live" && live.push(event.event));
  chat.send("c", { body: "hello", client_id: "k2" });
  const refusal = { code: "unavailable", message: "down", retryable: true };
  socket.deliver({ type: "error", client_id: "k2", error: refusal });
  const typing = { type: "error", error: { code: "rate_limited", message: "slow down", retryable: true } };
  socket.deliver(typing);
  await until(() => live.length === 1);
  assert.deepEqual(live, [typing], "the pending write's refusal stays in the outbox; the other error is seen");
  chat.close();
});
