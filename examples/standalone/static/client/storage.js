// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.
const OBJECTS = "sends";
/**
 * The outbox in the browser's IndexedDB, one namespace per user (so two
 * users signing in on one browser never send each other's writes).
 */
export class IndexedDbOutboxStore {
    #namespace;
    #database;
    /** Orders writes made within one millisecond. */
    #counter = 0;
    /** Opens (or creates) the database `name` for the writes of `namespace`. */
    constructor(namespace, name = "chat-outbox") {
        this.#namespace = namespace;
        this.#database = new Promise((resolve, reject) => {
            const request = indexedDB.open(name, 1);
            request.onupgradeneeded = () => request.result.createObjectStore(OBJECTS, { keyPath: "key" });
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
        });
    }
    async load() {
        const rows = await this.#request("readonly", (objects) => objects.getAll());
        return rows
            .filter((row) => row.namespace === this.#namespace)
            .sort((a, b) => a.at - b.at)
            .map((row) => row.frame);
    }
    async put(frame) {
        const row = { key: this.#key(frame.client_id), namespace: this.#namespace, at: Date.now() + this.#counter++ / 1e6, frame };
        await this.#request("readwrite", (objects) => objects.put(row));
    }
    async remove(clientId) {
        await this.#request("readwrite", (objects) => objects.delete(this.#key(clientId)));
    }
    #key(clientId) {
        return `${this.#namespace}\u0000${clientId}`;
    }
    async #request(mode, call) {
        const database = await this.#database;
        return new Promise((resolve, reject) => {
            const transaction = database.transaction(OBJECTS, mode);
            const request = call(transaction.objectStore(OBJECTS));
            // Resolved once the transaction commits: a reload after it keeps the write.
            transaction.oncomplete = () => resolve(request.result);
            transaction.onerror = () => reject(transaction.error);
            transaction.onabort = () => reject(transaction.error);
        });
    }
}
