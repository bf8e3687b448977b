// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.
/** Most events held ahead of a hole; past it they are fetched again with the hole. */
const MAX_AHEAD = 4096;
export class Order {
    #contiguous;
    #ahead = new Map();
    #holeSince;
    constructor(contiguous) {
        this.#contiguous = contiguous;
    }
    /** The highest seq handed on with nothing missing below it. */
    get contiguous() {
        return this.#contiguous;
    }
    /** Since when (ms) events have waited for a hole, if they have. */
    get holeSince() {
        return this.#holeSince;
    }
    /** Takes `event` with `seq`; the events to hand on now, in order. */
    accept(seq, event, now) {
        if (seq <= this.#contiguous)
            return [];
        if (seq > this.#contiguous + 1) {
            if (this.#ahead.size < MAX_AHEAD)
                this.#ahead.set(seq, event);
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
        for (const held of this.#ahead.keys())
            if (held <= this.#contiguous)
                this.#ahead.delete(held);
        // Whatever is left is further ahead: the hole moved, it is not filled.
        this.#holeSince = this.#ahead.size === 0 ? undefined : now;
        return ready;
    }
}
/** The seq of a timeline event (a message or another change), if it is one. */
export function seqOf(event) {
    if (event.type === "message")
        return event.message.seq;
    const seq = event.seq;
    // A read mark's seq is a position, not a timeline entry.
    if (event.type === "read" || typeof seq !== "number")
        return undefined;
    return seq;
}
/** The conversation an event belongs to, if it names one. */
export function conversationOf(event) {
    if (event.type === "message")
        return event.message.conversation_id;
    const id = event.conversation_id;
    return typeof id === "string" ? id : undefined;
}
