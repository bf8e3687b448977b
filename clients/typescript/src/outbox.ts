// Writes not yet acknowledged: messages, and edits, deletes and reactions.
// Each gets its client_id when the caller makes it, and goes out again with
// it on every connection (and after a retryable refusal) until the server
// answers `ack` for a message or `done` for a change (the server takes a
// client_id once, so a retry never writes twice) or refuses it for good.
// Each one's state can be awaited or listened to. With a store, each write
// is kept there from the moment it is made until it settles, so a restarted
// client (a reloaded page) sends it again.
import type { ClientFrame, ErrorBody, Message } from "./generated/socket.js";
import type { OutboxStore } from "./storage.js";

/** Wait before sending again what the server refused as retryable. */
const RETRY_AFTER_MS = 1000;

/** What a send carries besides its conversation: the `send` frame's fields. */
export type OutgoingMessage = Omit<Extract<ClientFrame, { type: "send" }>, "type" | "conversation_id">;

/** Where a write is. */
export type SendState =
  | { state: "pending" }
  /** Stored: the message of a send; the change's seq of an edit, a delete or
   * a reaction (none when it changed nothing). */
  | { state: "sent"; message?: Message; seq?: number | null }
  | { state: "failed"; error: ErrorBody };

/** A frame that changes something, as the client retries it (its client_id is added). */
export type IdempotentFrame = Extract<ClientFrame, { type: "send" | "edit" | "delete" | "react" | "unreact" }>;

/** A write the client keeps trying. */
export class PendingSend {
  readonly clientId: string;
  readonly conversationId: string;
  /** The frame, with its client_id. */
  readonly frame: IdempotentFrame;
  #state: SendState = { state: "pending" };
  #settle!: (state: SendState) => void;
  /** Resolves once the send is stored or refused for good. */
  readonly settled: Promise<SendState>;
  /** Not before this time (ms) after a retryable refusal. */
  retryAt: number | undefined;

  constructor(frame: IdempotentFrame) {
    this.clientId = frame.client_id!;
    this.conversationId = frame.conversation_id;
    this.frame = frame;
    this.settled = new Promise((resolve) => (this.#settle = resolve));
  }

  /** The state now. */
  get state(): SendState {
    return this.#state;
  }

  /** @internal */
  settle(state: SendState): void {
    this.#state = state;
    this.#settle(state);
  }
}

/** A fresh idempotency key. */
export function newClientId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

export class Outbox {
  #items = new Map<string, PendingSend>();
  readonly #store: OutboxStore | undefined;
  readonly #failed: (error: unknown) => void;

  /** An outbox kept in `store`, if any; `failed` hears of the store's errors. */
  constructor(store?: OutboxStore, failed: (error: unknown) => void = () => {}) {
    this.#store = store;
    this.#failed = failed;
  }

  /** Takes a write, giving it a client_id if it has none, and keeps it in the store. */
  add(frame: IdempotentFrame): PendingSend {
    const pending = new PendingSend({ ...frame, client_id: frame.client_id ?? newClientId() } as IdempotentFrame);
    this.#items.set(pending.clientId, pending);
    this.#store?.put(pending.frame).catch(this.#failed);
    return pending;
  }

  /** Takes back what the store kept, but what this outbox holds already: those not settled by an earlier client. */
  async restore(): Promise<PendingSend[]> {
    const frames = this.#store === undefined ? [] : await this.#store.load();
    const restored = frames.filter((frame) => !this.#items.has(frame.client_id!)).map((frame) => new PendingSend(frame));
    // Older than anything made meanwhile: they go out first.
    this.#items = new Map([...restored.map((item) => [item.clientId, item] as const), ...this.#items]);
    return restored;
  }

  /** Whether the write of `clientId` is waiting here. */
  has(clientId: string): boolean {
    return this.#items.has(clientId);
  }

  /** Every write not settled, oldest first. */
  pending(): PendingSend[] {
    return [...this.#items.values()];
  }

  /** Every pending send due by `now`: what a fresh connection sends first. */
  due(now: number): PendingSend[] {
    const due = [...this.#items.values()].filter((item) => item.retryAt === undefined || item.retryAt <= now);
    for (const item of due) item.retryAt = undefined;
    return due;
  }

  /** The next time a refused send is due again. */
  nextRetry(): number | undefined {
    const times = [...this.#items.values()].flatMap((item) => (item.retryAt === undefined ? [] : [item.retryAt]));
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** The server stored the write of `clientId`: `ack` with the message, or `done` with the change's seq. */
  acked(clientId: string, stored: { message?: Message; seq?: number | null }): PendingSend | undefined {
    const item = this.#items.get(clientId);
    if (item === undefined) return undefined;
    this.#forget(clientId);
    item.settle({ state: "sent", ...stored });
    return item;
  }

  /** The server refused the send of `clientId`: again later, or for good. */
  refused(clientId: string, error: ErrorBody, now: number): PendingSend | undefined {
    const item = this.#items.get(clientId);
    if (item === undefined) return undefined;
    if (error.retryable) {
      item.retryAt = now + RETRY_AFTER_MS;
      return undefined;
    }
    this.#forget(clientId);
    item.settle({ state: "failed", error });
    return item;
  }

  #forget(clientId: string): void {
    this.#items.delete(clientId);
    this.#store?.remove(clientId).catch(this.#failed);
  }

  /** How many sends are not settled. */
  get size(): number {
    return this.#items.size;
  }
}
