// Where the outbox keeps its writes so that they outlive the client: a
// browser tab reloaded (or closed) while a send waits for its `ack` sends it
// again from the next page, with the same client_id, so the server stores it
// once. The client only needs three calls; `IndexedDbOutboxStore` is the
// browser's, and a host may bring its own (a file, localStorage…).
import type { IdempotentFrame } from "./outbox.js";

/** Keeps the writes not yet settled, across client restarts. */
export interface OutboxStore {
  /** Every write kept, oldest first. */
  load(): Promise<IdempotentFrame[]>;
  /** Keeps `frame` (it has its client_id) until it is removed. */
  put(frame: IdempotentFrame): Promise<void>;
  /** Forgets the write of `clientId`: it was stored or refused for good. */
  remove(clientId: string): Promise<void>;
}

/** One kept write, as IndexedDB holds it. */
interface Row {
  key: string;
  namespace: string;
  at: number;
  frame: IdempotentFrame;
}

const OBJECTS = "sends";

/**
 * The outbox in the browser's IndexedDB, one namespace per user (so two
 * users signing in on one browser never send each other's writes).
 */
export class IndexedDbOutboxStore implements OutboxStore {
  readonly #namespace: string;
  readonly #database: Promise<IDBDatabase>;
  /** Orders writes made within one millisecond. */
  #counter = 0;

  /** Opens (or creates) the database `name` for the writes of `namespace`. */
  constructor(namespace: string, name = "chat-outbox") {
    this.#namespace = namespace;
    this.#database = new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(OBJECTS, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async load(): Promise<IdempotentFrame[]> {
    const rows = await this.#request<Row[]>("readonly", (objects) => objects.getAll());
    return rows
      .filter((row) => row.namespace === this.#namespace)
      .sort((a, b) => a.at - b.at)
      .map((row) => row.frame);
  }

  async put(frame: IdempotentFrame): Promise<void> {
    const row: Row = { key: this.#key(frame.client_id!), namespace: this.#namespace, at: Date.now() + this.#counter++ / 1e6, frame };
    await this.#request("readwrite", (objects) => objects.put(row));
  }

  async remove(clientId: string): Promise<void> {
    await this.#request("readwrite", (objects) => objects.delete(this.#key(clientId)));
  }

  #key(clientId: string): string {
    return `${this.#namespace}\u0000${clientId}`;
  }

  async #request<T>(mode: IDBTransactionMode, call: (objects: IDBObjectStore) => IDBRequest): Promise<T> {
    const database = await this.#database;
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(OBJECTS, mode);
      const request = call(transaction.objectStore(OBJECTS));
      // Resolved once the transaction commits: a reload after it keeps the write.
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }
}
