// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.
/** Wait before sending again what the server refused as retryable. */
const RETRY_AFTER_MS = 1000;
/** A write the client keeps trying. */
export class PendingSend {
    clientId;
    conversationId;
    /** The frame, with its client_id. */
    frame;
    #state = { state: "pending" };
    #settle;
    /** Resolves once the send is stored or refused for good. */
    settled;
    /** Not before this time (ms) after a retryable refusal. */
    retryAt;
    constructor(frame) {
        this.clientId = frame.client_id;
        this.conversationId = frame.conversation_id;
        this.frame = frame;
        this.settled = new Promise((resolve) => (this.#settle = resolve));
    }
    /** The state now. */
    get state() {
        return this.#state;
    }
    /** @internal */
    settle(state) {
        this.#state = state;
        this.#settle(state);
    }
}
/** A fresh idempotency key. */
export function newClientId() {
    const crypto = globalThis.crypto;
    if (crypto?.randomUUID)
        return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
export class Outbox {
    #items = new Map();
    #store;
    #failed;
    /** An outbox kept in `store`, if any; `failed` hears of the store's errors. */
    constructor(store, failed = () => { }) {
        this.#store = store;
        this.#failed = failed;
    }
    /** Takes a write, giving it a client_id if it has none, and keeps it in the store. */
    add(frame) {
        const pending = new PendingSend({ ...frame, client_id: frame.client_id ?? newClientId() });
        this.#items.set(pending.clientId, pending);
        this.#store?.put(pending.frame).catch(this.#failed);
        return pending;
    }
    /** Takes back what the store kept, but what this outbox holds already: those not settled by an earlier client. */
    async restore() {
        const frames = this.#store === undefined ? [] : await this.#store.load();
        const restored = frames.filter((frame) => !this.#items.has(frame.client_id)).map((frame) => new PendingSend(frame));
        // Older than anything made meanwhile: they go out first.
        this.#items = new Map([...restored.map((item) => [item.clientId, item]), ...this.#items]);
        return restored;
    }
    /** Whether the write of `clientId` is waiting here. */
    has(clientId) {
        return this.#items.has(clientId);
    }
    /** Every write not settled, oldest first. */
    pending() {
        return [...this.#items.values()];
    }
    /** Every pending send due by `now`: what a fresh connection sends first. */
    due(now) {
        const due = [...this.#items.values()].filter((item) => item.retryAt === undefined || item.retryAt <= now);
        for (const item of due)
            item.retryAt = undefined;
        return due;
    }
    /** The next time a refused send is due again. */
    nextRetry() {
        const times = [...this.#items.values()].flatMap((item) => (item.retryAt === undefined ? [] : [item.retryAt]));
        return times.length === 0 ? undefined : Math.min(...times);
    }
    /** The server stored the write of `clientId`: `ack` with the message, or `done` with the change's seq. */
    acked(clientId, stored) {
        const item = this.#items.get(clientId);
        if (item === undefined)
            return undefined;
        this.#forget(clientId);
        item.settle({ state: "sent", ...stored });
        return item;
    }
    /** The server refused the send of `clientId`: again later, or for good. */
    refused(clientId, error, now) {
        const item = this.#items.get(clientId);
        if (item === undefined)
            return undefined;
        if (error.retryable) {
            item.retryAt = now + RETRY_AFTER_MS;
            return undefined;
        }
        this.#forget(clientId);
        item.settle({ state: "failed", error });
        return item;
    }
    #forget(clientId) {
        this.#items.delete(clientId);
        this.#store?.remove(clientId).catch(this.#failed);
    }
    /** How many sends are not settled. */
    get size() {
        return this.#items.size;
    }
}
