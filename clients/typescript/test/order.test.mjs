// The order's rules: each seq handed on once, in order, whatever the arrival.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Order } from "../dist/index.js";

const message = (seq) => ({ type: "message", message: { seq, conversation_id: "c" } });
const seqs = (events) => events.map((event) => event.message.seq);

test("hands on in order once, holding what comes after a hole", () => {
  const order = new Order(0);
  assert.deepEqual(seqs(order.accept(1, message(1), 10)), [1]);
  assert.deepEqual(order.accept(1, message(1), 10), [], "a duplicate");
  assert.deepEqual(order.accept(3, message(3), 11), [], "after a hole");
  assert.equal(order.holeSince, 11);
  assert.deepEqual(seqs(order.accept(2, message(2), 12)), [2, 3]);
  assert.equal(order.contiguous, 3);
  assert.equal(order.holeSince, undefined);
});

test("every arrival order of 1..5 with repeats yields 1..5 once", () => {
  for (const arrival of [[3, 1, 5, 2, 4], [5, 4, 3, 2, 1], [2, 2, 1, 5, 3], [1, 3, 3, 2, 5]]) {
    const order = new Order(0);
    const handed = [...arrival, 1, 2, 3, 4, 5].flatMap((seq) => seqs(order.accept(seq, message(seq), 0)));
    assert.deepEqual(handed, [1, 2, 3, 4, 5], `arrival ${arrival}`);
  }
});
