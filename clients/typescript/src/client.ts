// The client: one WebSocket at a time, reconnecting with backoff, and the
// protocol's promises kept across connections. On every connection, before
// it takes anything as live, it sends `resume` with each conversation's
// contiguous seq, then every pending send. Timeline events (those with a
// seq) go through each conversation's Order: duplicates dropped, holes
// held. A hole the server's replay does not fill in time, or a `gap`
// event, is fetched over REST (GET …/events?after=) through the same order.
import type { components } from "./generated/openapi.js";
import type { ClientFrame, ServerEvent } from "./generated/socket.js";
import { Order, conversationOf, seqOf } from "./order.js";
import { Outbox, type IdempotentFrame, type OutgoingMessage, type PendingSend } from "./outbox.js";
import type { OutboxStore } from "./storage.js";

type EventPage = components["schemas"]["EventPage"];
type Page = components["schemas"]["Page"];
type ConversationPage = components["schemas"]["ConversationPage"];
type ReadMarks = components["schemas"]["ReadMarks"];

/** The server passes on one typing notice per user and conversation this often. */
const TYPING_INTERVAL_MS = 2000;

/** Gives a token for each connection; asked again on every reconnect. */
export type TokenProvider = () => string | Promise<string>;

/** What the client needs of a WebSocket: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket class. */
export type WebSocketClass = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The chat API's base URL (`http://host:port`, plus the host's prefix). */
  baseUrl: string;
  /** A token per connection (in demo mode, the user id). */
  token: TokenProvider;
  /** The WebSocket class: the global one by default (browsers, Node 22+). */
  WebSocket?: WebSocketClass;
  /** `fetch`: the global one by default (browsers, Node 18+). */
  fetch?: typeof fetch;
  /** First and longest wait before reconnecting (ms); 100 and 10,000 by default. */
  backoff?: { initialMs: number; maxMs: number };
  /** How long events may wait for a hole before it is fetched (ms); 1,000 by default. */
  holeTimeoutMs?: number;
  /**
   * Where unsettled writes are kept so that a restarted client sends them
   * again (`IndexedDbOutboxStore` in a browser); in memory only without one.
   */
  outboxStore?: OutboxStore;
}

/** What a client hands on. */
export type ClientEvent =
  /** A timeline event: per conversation in seq order, each once. */
  | { type: "timeline"; event: ServerEvent }
  /** An event outside the timeline (typing, read marks, presence…). */
  | { type: "live"; event: ServerEvent }
  /** A connection is up: positions and pending sends went first. */
  | { type: "connected" }
  /** The connection went down; the client reconnects by itself. */
  | { type: "disconnected"; reason: string }
  /** A write is waiting for the server: just made, or kept by an earlier client and restored. */
  | { type: "queued"; send: PendingSend }
  /** A send was stored or refused for good. */
  | { type: "settled"; send: PendingSend }
  /** The outbox store failed to keep or forget a write (it is still retried while this client runs). */
  | { type: "store_error"; error: unknown };

const FETCH_PAGE = 200;

export class ChatClient {
  readonly #options: Required<Omit<ClientOptions, "backoff" | "outboxStore">> & {
    backoff: { initialMs: number; maxMs: number };
  };
  readonly #orders = new Map<string, Order>();
  readonly #outbox: Outbox;
  readonly #listeners = new Set<(event: ClientEvent) => void>();
  readonly #typed = new Map<string, number>();
  /** Conversations with a hole open: what the timer looks at, so an event costs nothing per conversation followed. */
  readonly #holes = new Set<string>();
  #socket: WebSocketLike | undefined;
  #attempt = 0;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  /** Frames are handled one after another (a fetch may sit between two). */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ClientOptions) {
    const WebSocketGlobal = (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
    const WebSocketClass = options.WebSocket ?? WebSocketGlobal;
    if (WebSocketClass === undefined) throw new Error("no WebSocket: pass one (the `ws` package in Node < 22)");
    this.#options = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      token: options.token,
      WebSocket: WebSocketClass,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      backoff: options.backoff ?? { initialMs: 100, maxMs: 10_000 },
      holeTimeoutMs: options.holeTimeoutMs ?? 1000,
    };
    this.#outbox = new Outbox(options.outboxStore, (error) => this.#emit({ type: "store_error", error }));
  }

  /**
   * Takes back the writes an earlier client left in the outbox store (each
   * handed on as `queued`), then connects, and keeps connected until `close`.
   */
  start(): this {
    void this.#outbox.restore().then(
      (restored) => {
        for (const send of restored) this.#emit({ type: "queued", send });
        void this.#connect();
      },
      (error: unknown) => {
        this.#emit({ type: "store_error", error });
        void this.#connect();
      },
    );
    return this;
  }

  /** Stops: closes the socket, reconnects no more. Pending sends stay pending. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#reconnect);
    this.#socket?.close(1000, "client closed");
    this.#socket = undefined;
  }

  /** Listens to what the client hands on; returns the way to stop. */
  on(listener: (event: ClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sends a message, now or when connected, and again on every connection
   * until the server acknowledges it (a client_id is given when it has none).
   */
  send(conversationId: string, message: OutgoingMessage | string): PendingSend {
    const fields = typeof message === "string" ? { body: message } : message;
    return this.#retried({ type: "send", conversation_id: conversationId, ...fields } as IdempotentFrame);
  }

  /** Replaces the text of one's own message `seq`; retried like a send. */
  edit(conversationId: string, seq: number, body: string): PendingSend {
    return this.#retried({ type: "edit", conversation_id: conversationId, seq, body });
  }

  /** Deletes one's own message `seq`; retried like a send. */
  delete(conversationId: string, seq: number): PendingSend {
    return this.#retried({ type: "delete", conversation_id: conversationId, seq });
  }

  /** Reacts to message `seq` (or takes the reaction back); retried like a send. */
  react(conversationId: string, seq: number, reaction: string, on = true): PendingSend {
    return this.#retried({ type: on ? "react" : "unreact", conversation_id: conversationId, seq, reaction });
  }

  /**
   * Tells the others this user is typing: at most one notice per
   * conversation every two seconds (the server's interval), however often
   * it is called; none while disconnected (a typing notice is not worth
   * keeping).
   */
  typing(conversationId: string, now = Date.now()): boolean {
    const last = this.#typed.get(conversationId);
    if (last !== undefined && now - last < TYPING_INTERVAL_MS) return false;
    if (!this.#write({ type: "typing", conversation_id: conversationId })) return false;
    this.#typed.set(conversationId, now);
    return true;
  }

  /** Marks `conversationId` read up to `seq`, if connected (a later mark covers it). */
  read(conversationId: string, seq: number): boolean {
    return this.#write({ type: "read", conversation_id: conversationId, seq });
  }

  /** A page of a conversation's messages in their current state (REST). */
  history(conversationId: string, page: { before?: number; after?: number; limit?: number } = {}): Promise<Page> {
    const query = Object.entries(page).map(([key, value]) => `${key}=${value}`).join("&");
    return this.get<Page>(`/conversations/${encodeURIComponent(conversationId)}/messages${query ? `?${query}` : ""}`);
  }

  /** The user's conversations, newest activity first, with unread counts (REST). */
  conversations(): Promise<ConversationPage> {
    return this.get<ConversationPage>("/conversations");
  }

  /** Every member's read mark in a conversation (REST). */
  readMarks(conversationId: string): Promise<ReadMarks> {
    return this.get<ReadMarks>(`/conversations/${encodeURIComponent(conversationId)}/reads`);
  }

  /** Sends again, as a new write, what the server refused for good (`failed`). */
  retry(send: PendingSend): PendingSend {
    const { client_id: _, ...frame } = send.frame;
    return this.#retried(frame as IdempotentFrame);
  }

  /** Every write not settled yet, oldest first. */
  pending(): PendingSend[] {
    return this.#outbox.pending();
  }

  #retried(frame: IdempotentFrame): PendingSend {
    const pending = this.#outbox.add(frame);
    this.#emit({ type: "queued", send: pending });
    this.#write(pending.frame);
    return pending;
  }

  /**
   * Follows `conversationId` after seq `after`: every timeline event after
   * it is handed on, replayed first. A conversation not followed starts at
   * the first of its events the client receives. Never goes back: what was
   * handed on stays handed on, once.
   */
  follow(conversationId: string, after = 0): void {
    const known = this.#orders.get(conversationId);
    if (known !== undefined && known.contiguous >= after) return;
    this.#orders.set(conversationId, new Order(after));
    this.#holes.delete(conversationId);
    this.#write({ type: "resume", positions: { [conversationId]: after } } as ClientFrame);
  }

  /** The contiguous seq of each followed conversation: where a restart resumes. */
  positions(): Record<string, number> {
    return Object.fromEntries([...this.#orders].map(([id, order]) => [id, order.contiguous]));
  }

  /** Sends a frame of the caller's own (typing, read, react…), if connected. */
  sendFrame(frame: ClientFrame): boolean {
    return this.#write(frame);
  }

  /** A GET of a REST path as this client's user: the JSON answer. */
  async get<T = unknown>(path: string): Promise<T> {
    const token = await this.#options.token();
    const response = await this.#options.fetch(`${this.#options.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  }

  #emit(event: ClientEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #write(frame: ClientFrame): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let token: string;
    try {
      token = await this.#options.token();
    } catch (error) {
      this.#lost(`no token: ${String(error)}`);
      return;
    }
    if (this.#closed) return;
    // resume=first: nothing live is written before the positions this
    // client sends on `ready`.
    const url = this.#options.baseUrl.replace(/^http/, "ws") + `/ws?resume=first&token=${encodeURIComponent(token)}`;
    const socket = new this.#options.WebSocket(url);
    this.#socket = socket;
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (this.#socket === socket) this.#socket = undefined;
      this.#lost(reason);
    };
    socket.onmessage = (message) => {
      const text = String(message.data);
      this.#queue = this.#queue
        .then(() => this.#handle(socket, text))
        .catch((error: unknown) => {
          // A fetch that failed: this connection cannot keep its promise.
          socket.close(4000, "client error");
          end(String(error));
        });
    };
    socket.onclose = (event) => end(`closed: ${event.code} ${event.reason}`);
    socket.onerror = () => {
      /* onclose follows */
    };
  }

  #lost(reason: string): void {
    if (this.#closed) return;
    this.#emit({ type: "disconnected", reason });
    const { initialMs, maxMs } = this.#options.backoff;
    // Full jitter: clients that lost the same server do not come back at once.
    const wait = Math.random() * Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt, 20));
    this.#attempt += 1;
    clearTimeout(this.#reconnect);
    this.#reconnect = setTimeout(() => void this.#connect(), wait);
  }

  async #handle(socket: WebSocketLike, text: string): Promise<void> {
    if (this.#socket !== socket) return;
    const event = JSON.parse(text) as ServerEvent;
    switch (event.type) {
      case "ready": {
        this.#attempt = 0;
        // Positions first: nothing is taken as live before them.
        this.#write({ type: "resume", positions: this.positions() } as ClientFrame);
        for (const pending of this.#outbox.due(Date.now())) this.#write(pending.frame);
        this.#emit({ type: "connected" });
        return;
      }
      case "ack":
      case "done": {
        const stored = event.type === "ack" ? { message: event.message } : { seq: event.seq };
        const settled = event.client_id ? this.#outbox.acked(event.client_id, stored) : undefined;
        if (settled) this.#emit({ type: "settled", send: settled });
        return;
      }
      case "error": {
        const settled = event.client_id ? this.#outbox.refused(event.client_id, event.error, Date.now()) : undefined;
        if (settled) this.#emit({ type: "settled", send: settled });
        // A write of the outbox refused as retryable goes again; any other error is the caller's to see.
        else if (!event.client_id || !this.#outbox.has(event.client_id)) this.#emit({ type: "live", event });
        this.#schedule();
        return;
      }
      case "gap": {
        const ids = event.conversation_id ? [event.conversation_id] : [...this.#orders.keys()];
        for (const id of ids) await this.#fetch(id);
        return;
      }
      default:
        break;
    }
    const seq = seqOf(event);
    const id = conversationOf(event);
    if (seq === undefined || id === undefined) {
      this.#emit({ type: "live", event });
      return;
    }
    let order = this.#orders.get(id);
    if (order === undefined) {
      order = new Order(seq - 1);
      this.#orders.set(id, order);
    }
    this.#handOn(order.accept(seq, event, Date.now()));
    this.#trackHole(id, order);
    this.#schedule();
  }

  /** Notes whether `id` has a hole open after its order moved. */
  #trackHole(id: string, order: Order): void {
    if (order.holeSince === undefined) this.#holes.delete(id);
    else this.#holes.add(id);
  }

  #handOn(events: ServerEvent[]): void {
    for (const event of events) this.#emit({ type: "timeline", event });
  }

  /** Wakes for the next open hole's timeout or refused send's retry. */
  #schedule(): void {
    clearTimeout(this.#timer);
    const holes = [...this.#holes].flatMap((id) => {
      const since = this.#orders.get(id)?.holeSince;
      return since === undefined ? [] : [since + this.#options.holeTimeoutMs];
    });
    const retry = this.#outbox.nextRetry();
    const times = retry === undefined ? holes : [...holes, retry];
    if (times.length === 0) return;
    const wait = Math.max(0, Math.min(...times) - Date.now());
    this.#timer = setTimeout(() => {
      const socket = this.#socket;
      if (socket === undefined) return;
      this.#queue = this.#queue.then(() => this.#onTime(socket)).catch(() => socket.close(4000, "client error"));
    }, wait);
  }

  async #onTime(socket: WebSocketLike): Promise<void> {
    if (this.#socket !== socket) return;
    const now = Date.now();
    for (const id of [...this.#holes]) {
      const since = this.#orders.get(id)?.holeSince;
      if (since !== undefined && now >= since + this.#options.holeTimeoutMs) await this.#fetch(id);
    }
    for (const pending of this.#outbox.due(now)) this.#write(pending.frame);
    this.#schedule();
  }

  /** Fetches the timeline of `id` after its contiguous seq, through its order. */
  async #fetch(id: string): Promise<void> {
    for (;;) {
      const order = this.#orders.get(id) ?? new Order(0);
      this.#orders.set(id, order);
      const page = await this.get<EventPage>(
        `/conversations/${encodeURIComponent(id)}/events?after=${order.contiguous}&limit=${FETCH_PAGE}`,
      );
      const now = Date.now();
      for (const event of page.events as ServerEvent[]) {
        const seq = seqOf(event);
        if (seq !== undefined) this.#handOn(order.accept(seq, event, now));
      }
      this.#trackHole(id, order);
      if (!page.has_more) return;
    }
  }
}
