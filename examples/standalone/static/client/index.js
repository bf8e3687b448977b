// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.
// A client of the chat server for browsers and Node 18+.
export { ChatClient } from "./client.js";
export { Order } from "./order.js";
export { PendingSend } from "./outbox.js";
export { IndexedDbOutboxStore } from "./storage.js";
