// A client of the chat server for browsers and Node 18+.
export { ChatClient } from "./client.js";
export type { ClientEvent, ClientOptions, TokenProvider, WebSocketClass, WebSocketLike } from "./client.js";
export { Order } from "./order.js";
export { PendingSend } from "./outbox.js";
export { IndexedDbOutboxStore } from "./storage.js";
export type { OutboxStore } from "./storage.js";
export type { IdempotentFrame, OutgoingMessage, SendState } from "./outbox.js";
export type * from "./generated/socket.js";
export type { components as RestSchemas, paths as RestPaths } from "./generated/openapi.js";
