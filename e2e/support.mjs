// What the browser tests share: the standalone server as a child process,
// headless Chromium, a person signed in on a page, REST calls, and the
// locators the tests read the page with.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const serverBinary = process.env.CHAT_E2E_SERVER || join(root, "target/debug/standalone");
const chromiumPath = process.env.CHAT_E2E_CHROMIUM || "/usr/bin/chromium";
/** Where screenshots go. */
export const output = process.env.CHAT_E2E_OUTPUT || join(root, "target/e2e");
/** MySQL and Redis for the two-node run, when set. */
export const databaseUrl = process.env.CHAT_E2E_DATABASE_URL;
export const redisUrl = process.env.CHAT_E2E_REDIS_URL;
/** The bot every node runs. */
export const BOT = "echo-bot";

let log = "";
/** Everything the servers printed: shown when a step fails. */
export function serverLog() {
  return log;
}

/**
 * Starts one server node with the bot on `bind` (by default a port it
 * picks itself, so no other process can take it between a probe and the
 * bind); resolves once it answers /health, to its base URL (read from its
 * "listening on" line) and the way to kill it.
 */
export async function startNode(backend, bind = "127.0.0.1:0") {
  const node = spawn(serverBinary, ["--bind", bind, "--bot", BOT, "--log", "warn", ...backend]);
  const exited = new Promise((resolveExit) => node.once("exit", resolveExit));
  const listening = new Promise((resolveUrl, reject) => {
    let seen = "";
    node.stdout.on("data", (chunk) => {
      log += chunk;
      seen += chunk;
      const found = seen.match(/^listening on (http:\/\/\S+)$/m);
      if (found) resolveUrl(found[1]);
    });
    exited.then(() => reject(new Error(`the server exited:\n${log}`)));
  });
  node.stderr.on("data", (chunk) => (log += chunk));
  const url = await listening;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch (_) {
      /* not listening yet */
    }
    if (node.exitCode !== null) throw new Error(`the server exited:\n${log}`);
    if (Date.now() > deadline) throw new Error(`the server did not come up:\n${log}`);
    await new Promise((next) => setTimeout(next, 50));
  }
  return {
    url,
    /** Sends `signal` and resolves once the process is gone. */
    async kill(signal = "SIGTERM") {
      if (node.exitCode === null && node.signalCode === null) node.kill(signal);
      await exited;
    },
  };
}

/**
 * The servers a test uses: one on the embedded default (a SQLite file in
 * `work`), or, with CHAT_E2E_DATABASE_URL and CHAT_E2E_REDIS_URL, two
 * nodes sharing MySQL and Redis (under a prefix of this run's own).
 */
export async function startNodes(work) {
  if (redisUrl && !databaseUrl) throw new Error("CHAT_E2E_REDIS_URL needs CHAT_E2E_DATABASE_URL (MySQL)");
  if (!redisUrl) return [await startNode(["--database-url", `sqlite://${join(work, "chat.db")}`])];
  const prefix = `chat-e2e:${Date.now()}:${process.pid}:`;
  const backend = ["--database-url", databaseUrl, "--redis-url", redisUrl, "--redis-prefix", prefix];
  return [await startNode(backend), await startNode(backend)];
}

/**
 * The nodes (`startNodes`) and a browser for a test file: filled in before
 * its tests, stopped after them.
 */
export function servedAndBrowsed() {
  const fixture = { servers: [], browser: undefined };
  let work;
  before(async () => {
    mkdirSync(output, { recursive: true });
    work = mkdtempSync(join(tmpdir(), "chat-e2e-"));
    fixture.servers.push(...(await startNodes(work)));
    fixture.browser = await launchBrowser();
  });
  after(async () => {
    await fixture.browser?.close();
    for (const node of fixture.servers) await node.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });
  return fixture;
}

/**
 * Runs the steps of test `t`: a step that fails leaves a screenshot of
 * each of `pages` (by name) and the servers' log.
 */
export function stepsOf(t, pages) {
  return (name, run) =>
    t.test(name, async () => {
      try {
        await run();
      } catch (error) {
        for (const [who, page] of Object.entries(pages)) await shot(page, `failure-${who}`).catch(() => {});
        console.error(serverLog());
        throw error;
      }
    });
}

/** Headless Chromium; Playwright gives each launch a fresh --user-data-dir of its own. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A person: their own browser context (cookies, storage) and page, signed
 * in. `options` are the context's (viewport, colour scheme…); `init` runs
 * in the page before its own scripts.
 */
export async function person(browser, name, base, options = {}, init = undefined) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, ...options });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => assert.fail(`${name}'s page threw: ${error.message}`));
  await page.goto(base);
  await page.fill("#login-user", name);
  await page.click("#login-form button[type=submit]");
  await page.locator("#status", { hasText: "online" }).waitFor();
  return page;
}

/** One REST call as `user` (demo mode: the token is the user id). */
export function rest(base, user, method, path, body) {
  return fetch(`${base}/${path}`, {
    method,
    headers: { Authorization: `Bearer ${user}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
}

/** A screenshot of `page` as `name`.png in the output folder. */
export async function shot(page, name) {
  await page.screenshot({ path: join(output, `${name}.png`) });
}

/** A pattern matching exactly `text`. */
export function exactly(text) {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

/** The message bubble whose whole text is `text` (hasText alone matches substrings, any case). */
export function bubble(page, text) {
  return page.locator("#message-list .bubble", { hasText: exactly(text) });
}

/** The message (in the conversation, not a thread) whose text matches `text`. */
export function message(page, text) {
  return page.locator("#message-list .msg", { has: page.locator(".bubble", { hasText: text }) });
}

/** Types `text` in the composer, sends it with Enter, and waits until it is stored. */
export async function say(page, text) {
  await page.fill("#body", text);
  await page.press("#body", "Enter");
  await page.locator("#message-list .msg.mine:not(.pending) .bubble", { hasText: exactly(text) }).waitFor();
}

/** The conversation list's item named `name`. */
export function conversationNamed(page, name) {
  return page.locator("#conversations li", {
    has: page.locator(".name", { hasText: exactly(name) }),
  });
}
