// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.
import { Order, conversationOf, seqOf } from "./order.js";
import { Outbox } from "./outbox.js";
/** The server passes on one typing notice per user and conversation this often. */
const TYPING_INTERVAL_MS = 2000;
const FETCH_PAGE = 200;
export class ChatClient {
    #options;
    #orders = new Map();
    #outbox;
    #listeners = new Set();
    #typed = new Map();
    /** Conversations with a hole open: what the timer looks at, so an event costs nothing per conversation followed. */
    #holes = new Set();
    #socket;
    #attempt = 0;
    #closed = false;
    #timer;
    #reconnect;
    /** Frames are handled one after another (a fetch may sit between two). */
    #queue = Promise.resolve();
    constructor(options) {
        const WebSocketGlobal = globalThis.WebSocket;
        const WebSocketClass = options.WebSocket ?? WebSocketGlobal;
        if (WebSocketClass === undefined)
            throw new Error("no WebSocket: pass one (the `ws` package in Node < 22)");
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
    start() {
        void this.#outbox.restore().then((restored) => {
            for (const send of restored)
                this.#emit({ type: "queued", send });
            void this.#connect();
        }, (error) => {
            this.#emit({ type: "store_error", error });
            void this.#connect();
        });
        return this;
    }
    /** Stops: closes the socket, reconnects no more. Pending sends stay pending. */
    close() {
        this.#closed = true;
        clearTimeout(this.#timer);
        clearTimeout(this.#reconnect);
        this.#socket?.close(1000, "client closed");
        this.#socket = undefined;
    }
    /** Listens to what the client hands on; returns the way to stop. */
    on(listener) {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
    }
    /**
     * Sends a message, now or when connected, and again on every connection
     * until the server acknowledges it (a client_id is given when it has none).
     */
    send(conversationId, message) {
        const fields = typeof message === "string" ? { body: message } : message;
        return this.#retried({ type: "send", conversation_id: conversationId, ...fields });
    }
    /** Replaces the text of one's own message `seq`; retried like a send. */
    edit(conversationId, seq, body) {
        return this.#retried({ type: "edit", conversation_id: conversationId, seq, body });
    }
    /** Deletes one's own message `seq`; retried like a send. */
    delete(conversationId, seq) {
        return this.#retried({ type: "delete", conversation_id: conversationId, seq });
    }
    /** Reacts to message `seq` (or takes the reaction back); retried like a send. */
    react(conversationId, seq, reaction, on = true) {
        return this.#retried({ type: on ? "react" : "unreact", conversation_id: conversationId, seq, reaction });
    }
    /**
     * Tells the others this user is typing: at most one notice per
     * conversation every two seconds (the server's interval), however often
     * it is called; none while disconnected (a typing notice is not worth
     * keeping).
     */
    typing(conversationId, now = Date.now()) {
        const last = this.#typed.get(conversationId);
        if (last !== undefined && now - last < TYPING_INTERVAL_MS)
            return false;
        if (!this.#write({ type: "typing", conversation_id: conversationId }))
            return false;
        this.#typed.set(conversationId, now);
        return true;
    }
    /** Marks `conversationId` read up to `seq`, if connected (a later mark covers it). */
    read(conversationId, seq) {
        return this.#write({ type: "read", conversation_id: conversationId, seq });
    }
    /** A page of a conversation's messages in their current state (REST). */
    history(conversationId, page = {}) {
        const query = Object.entries(page).map(([key, value]) => `${key}=${value}`).join("&");
        return this.get(`/conversations/${encodeURIComponent(conversationId)}/messages${query ? `?${query}` : ""}`);
    }
    /** The user's conversations, newest activity first, with unread counts (REST). */
    conversations() {
        return this.get("/conversations");
    }
    /** Every member's read mark in a conversation (REST). */
    readMarks(conversationId) {
        return this.get(`/conversations/${encodeURIComponent(conversationId)}/reads`);
    }
    /** Sends again, as a new write, what the server refused for good (`failed`). */
    retry(send) {
        const { client_id: _, ...frame } = send.frame;
        return this.#retried(frame);
    }
    /** Every write not settled yet, oldest first. */
    pending() {
        return this.#outbox.pending();
    }
    #retried(frame) {
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
    follow(conversationId, after = 0) {
        const known = this.#orders.get(conversationId);
        if (known !== undefined && known.contiguous >= after)
            return;
        this.#orders.set(conversationId, new Order(after));
        this.#holes.delete(conversationId);
        this.#write({ type: "resume", positions: { [conversationId]: after } });
    }
    /** The contiguous seq of each followed conversation: where a restart resumes. */
    positions() {
        return Object.fromEntries([...this.#orders].map(([id, order]) => [id, order.contiguous]));
    }
    /** Sends a frame of the caller's own (typing, read, react…), if connected. */
    sendFrame(frame) {
        return this.#write(frame);
    }
    /** A GET of a REST path as this client's user: the JSON answer. */
    async get(path) {
        const token = await this.#options.token();
        const response = await this.#options.fetch(`${this.#options.baseUrl}${path}`, {
            headers: { authorization: `Bearer ${token}` },
        });
        if (!response.ok)
            throw new Error(`GET ${path}: ${response.status}`);
        return (await response.json());
    }
    #emit(event) {
        for (const listener of this.#listeners)
            listener(event);
    }
    #write(frame) {
        const socket = this.#socket;
        if (socket === undefined || socket.readyState !== 1)
            return false;
        socket.send(JSON.stringify(frame));
        return true;
    }
    async #connect() {
        if (this.#closed)
            return;
        let token;
        try {
            token = await this.#options.token();
        }
        catch (error) {
            this.#lost(`no token: ${String(error)}`);
            return;
        }
        if (this.#closed)
            return;
        // resume=first: nothing live is written before the positions this
        // client sends on `ready`.
        const url = this.#options.baseUrl.replace(/^http/, "ws") + `/ws?resume=first&token=${encodeURIComponent(token)}`;
        const socket = new this.#options.WebSocket(url);
        this.#socket = socket;
        let ended = false;
        const end = (reason) => {
            if (ended)
                return;
            ended = true;
            if (this.#socket === socket)
                this.#socket = undefined;
            this.#lost(reason);
        };
        socket.onmessage = (message) => {
            const text = String(message.data);
            this.#queue = this.#queue
                .then(() => this.#handle(socket, text))
                .catch((error) => {
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
    #lost(reason) {
        if (this.#closed)
            return;
        this.#emit({ type: "disconnected", reason });
        const { initialMs, maxMs } = this.#options.backoff;
        // Full jitter: clients that lost the same server do not come back at once.
        const wait = Math.random() * Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt, 20));
        this.#attempt += 1;
        clearTimeout(this.#reconnect);
        this.#reconnect = setTimeout(() => void this.#connect(), wait);
    }
    async #handle(socket, text) {
        if (this.#socket !== socket)
            return;
        const event = JSON.parse(text);
        switch (event.type) {
            case "ready": {
                this.#attempt = 0;
                // Positions first: nothing is taken as live before them.
                this.#write({ type: "resume", positions: this.positions() });
                for (const pending of this.#outbox.due(Date.now()))
                    this.#write(pending.frame);
                this.#emit({ type: "connected" });
                return;
            }
            case "ack":
            case "done": {
                const stored = event.type === "ack" ? { message: event.message } : { seq: event.seq };
                const settled = event.client_id ? this.#outbox.acked(event.client_id, stored) : undefined;
                if (settled)
                    this.#emit({ type: "settled", send: settled });
                return;
            }
            case "error": {
                const settled = event.client_id ? this.#outbox.refused(event.client_id, event.error, Date.now()) : undefined;
                if (settled)
                    this.#emit({ type: "settled", send: settled });
                // A write of the outbox refused as retryable goes again; any other error is the caller's to see.
                else if (!event.client_id || !this.#outbox.has(event.client_id))
                    this.#emit({ type: "live", event });
                this.#schedule();
                return;
            }
            case "gap": {
                const ids = event.conversation_id ? [event.conversation_id] : [...this.#orders.keys()];
                for (const id of ids)
                    await this.#fetch(id);
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
    #trackHole(id, order) {
        if (order.holeSince === undefined)
            this.#holes.delete(id);
        else
            this.#holes.add(id);
    }
    #handOn(events) {
        for (const event of events)
            this.#emit({ type: "timeline", event });
    }
    /** Wakes for the next open hole's timeout or refused send's retry. */
    #schedule() {
        clearTimeout(this.#timer);
        const holes = [...this.#holes].flatMap((id) => {
            const since = this.#orders.get(id)?.holeSince;
            return since === undefined ? [] : [since + this.#options.holeTimeoutMs];
        });
        const retry = this.#outbox.nextRetry();
        const times = retry === undefined ? holes : [...holes, retry];
        if (times.length === 0)
            return;
        const wait = Math.max(0, Math.min(...times) - Date.now());
        this.#timer = setTimeout(() => {
            const socket = this.#socket;
            if (socket === undefined)
                return;
            this.#queue = this.#queue.then(() => this.#onTime(socket)).catch(() => socket.close(4000, "client error"));
        }, wait);
    }
    async #onTime(socket) {
        if (this.#socket !== socket)
            return;
        const now = Date.now();
        for (const id of [...this.#holes]) {
            const since = this.#orders.get(id)?.holeSince;
            if (since !== undefined && now >= since + this.#options.holeTimeoutMs)
                await this.#fetch(id);
        }
        for (const pending of this.#outbox.due(now))
            this.#write(pending.frame);
        this.#schedule();
    }
    /** Fetches the timeline of `id` after its contiguous seq, through its order. */
    async #fetch(id) {
        for (;;) {
            const order = this.#orders.get(id) ?? new Order(0);
            this.#orders.set(id, order);
            const page = await this.get(`/conversations/${encodeURIComponent(id)}/events?after=${order.contiguous}&limit=${FETCH_PAGE}`);
            const now = Date.now();
            for (const event of page.events) {
                const seq = seqOf(event);
                if (seq !== undefined)
                    this.#handOn(order.accept(seq, event, now));
            }
            this.#trackHole(id, order);
            if (!page.has_more)
                return;
        }
    }
}
