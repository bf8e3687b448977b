// The page's one module: it loads the chat client (the TypeScript client in
// clients/typescript, compiled to client/) and starts the page with it. The
// rest of the page is classic scripts that share their functions by name;
// this hands them the client's classes instead of making every file a module.
import { ChatClient, IndexedDbOutboxStore } from "./client/index.js";

boot({ ChatClient, IndexedDbOutboxStore });
