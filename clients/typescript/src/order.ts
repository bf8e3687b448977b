// One conversation's place in its timeline: the highest seq handed on with
// nothing missing before it (the contiguous seq), and the events that came
// ahead of a hole, held until the hole is filled. A client that resumed
// from the highest seq seen instead would skip whatever was missing below
// it, silently. At or below the contiguous seq is a duplicate, dropped.
import type { ServerEvent } from "./generated/socket.js";

/** Most events held ahead of a hole; past it they are fetched again with the hole. */
const MAX_AHEAD = 4096;

export class Order {
  #contiguous: number;
  #ahead = new Map<number, ServerEvent>();
  #holeSince: number | undefined;

  constructor(contiguous: number) {
    this.#contiguous = contiguous;
  }

  /** The highest seq handed on with nothing missing below it. */
  get contiguous(): number {
    return this.#contiguous;
  }

  /** Since when (ms) events have waited for a hole, if they have. */
  get holeSince(): number | undefined {
    return this.#holeSince;
  }

  /** Takes `event` with `seq`; the events to hand on now, in order. */
  accept(seq: number, event: ServerEvent, now: number): ServerEvent[] {
    if (seq <= this.#contiguous) return [];
    if (seq > this.#contiguous + 1) {
      if (this.#ahead.size < MAX_AHEAD) this.#ahead.set(seq, event);
      this.#holeSince ??= now;
      return [];
    }
    const ready = [event];
    this.#contiguous = seq;
    for (let next = this.#ahead.get(seq + 1); next !== undefined; next = this.#ahead.get(this.#contiguous + 1)) {
      this.#ahead.delete(this.#contiguous + 1);
      ready.push(next);
      this.#contiguous += 1;
    }
    for (const held of this.#ahead.keys()) if (held <= this.#contiguous) this.#ahead.delete(held);
    // Whatever is left is further ahead: the hole moved, it is not filled.
    this.#holeSince = this.#ahead.size === 0 ? undefined : now;
    return ready;
  }
}

/** The seq of a timeline event (a message or another change), if it is one. */
export function seqOf(event: ServerEvent): number | undefined {
  if (event.type === "message") return event.message.seq;
  const seq = (event as { seq?: unknown }).seq;
  // A read mark's seq is a position, not a timeline entry.
  if (event.type === "read" || typeof seq !== "number") return undefined;
  return seq;
}

/** The conversation an event belongs to, if it names one. */
export function conversationOf(event: ServerEvent): string | undefined {
  if (event.type === "message") return event.message.conversation_id;
  const id = (event as { conversation_id?: unknown }).conversation_id;
  return typeof id === "string" ? id : undefined;
}
