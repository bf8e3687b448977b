// The page as people use it every day, in headless Chromium: carol on a
// phone (one pane at a time, a back button), dave on a desktop in dark mode
// with the keyboard only; links, "Today" and grouped messages; the tab's
// unread count, browser notifications and what screen readers hear; the
// "new messages" divider, the "↓ new" pill, and read marks sent only for
// messages actually on screen; a composer that grows with its lines.
// Last, the README's browser example runs as written.
// Every wait is for something on the page (or a read mark on the server).
//
// Runs where chat.test.mjs does (scripts/e2e): one node on the embedded
// default, or two nodes on MySQL and Redis (carol on one, dave on the other).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  BOT,
  bubble,
  conversationNamed,
  person,
  rest,
  say,
  servedAndBrowsed,
  shot,
  stepsOf,
} from "./support.mjs";

const fixture = servedAndBrowsed();

/**
 * Stands in for the browser's Notification (headless Chromium shows none):
 * permission asked for with the bell, every notification recorded.
 */
function recordNotifications() {
  window.shown = [];
  window.Notification = class {
    static permission = "default";
    static requestPermission() {
      this.permission = "granted";
      return Promise.resolve("granted");
    }
    constructor(title, options) {
      window.shown.push({ title, body: options && options.body });
    }
    close() {}
  };
}

/** dave's read mark in `cid`, as the server holds it. */
async function readMark(base, cid) {
  const page = await (await rest(base, "dave", "GET", `conversations/${cid}/reads`)).json();
  return page.reads.find((mark) => mark.user_id === "dave")?.seq ?? 0;
}

/** Resolves once `check` holds for dave's read mark. */
async function markReaches(base, cid, check) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mark = await readMark(base, cid);
    if (check(mark)) return mark;
    if (Date.now() > deadline) throw new Error(`dave's read mark stayed at ${mark}`);
    await new Promise((next) => setTimeout(next, 50));
  }
}

test("a phone, the keyboard, links, unread counts, the divider and what was seen", async (t) => {
  const { browser, servers } = fixture;
  const [carolBase, daveBase] = [servers[0].url, servers.at(-1).url];
  const carol = await person(browser, "carol", carolBase, { viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true });
  const dave = await person(browser, "dave", daveBase, { colorScheme: "dark" }, recordNotifications);
  const step = stepsOf(t, { carol, dave });
  const direct = await (await rest(daveBase, "dave", "PUT", "direct/carol")).json();
  assert.equal((await rest(daveBase, "dave", "PUT", `direct/${BOT}`)).status, 200);
  const lastMessageSeq = async () =>
    (await (await rest(daveBase, "dave", "GET", `conversations/${direct.id}/messages?limit=1`)).json()).messages[0].seq;
  const fromCarol = (body) => rest(carolBase, "carol", "POST", `conversations/${direct.id}/messages`, { body });

  await step("a phone shows one pane at a time, with a way back", async () => {
    assert.equal((await fromCarol("morning!")).status, 201);
    const withDave = conversationNamed(carol, "dave");
    await withDave.waitFor();
    assert.equal(await carol.locator("#chat").isVisible(), false, "the list alone, at first");
    await withDave.tap();
    await bubble(carol, "morning!").waitFor();
    assert.equal(await carol.locator(".sidebar").isVisible(), false, "the conversation alone");
    await say(carol, "from my phone");
    await shot(carol, "phone-conversation");
    await carol.click("#back");
    await withDave.waitFor();
    assert.equal(await carol.locator("#chat").isVisible(), false, "back to the list");
    await shot(carol, "phone-list");
  });

  await step("dark mode follows the system", async () => {
    const sidebar = (page) => page.locator(".sidebar").evaluate((node) => getComputedStyle(node).backgroundColor);
    assert.equal(await sidebar(dave), "rgb(23, 26, 33)", "dave's system asks for dark");
    assert.equal(await sidebar(carol), "rgb(255, 255, 255)", "carol's for light");
  });

  await step("the keyboard alone: the list, a conversation, the composer", async () => {
    await conversationNamed(dave, "carol").waitFor();
    await dave.focus("#search");
    await dave.keyboard.press("Tab");
    const focused = () => dave.evaluate(() => document.activeElement.closest("li")?.querySelector(".name")?.textContent);
    const first = await focused();
    assert.ok(first, "Tab from the search box reaches the conversation list");
    await dave.keyboard.press("ArrowDown");
    const second = await focused();
    assert.notEqual(second, first, "ArrowDown moves to the next conversation");
    await dave.keyboard.press("ArrowUp");
    assert.equal(await focused(), first);
    // Open carol's conversation, wherever it is in the list.
    if (!first.endsWith("carol")) await dave.keyboard.press("ArrowDown");
    await dave.keyboard.press("Enter");
    await dave.locator("#chat-title", { hasText: "carol" }).waitFor();
    // The composer takes the focus once the conversation's messages are in.
    await dave.waitForFunction(() => document.activeElement.id === "body");
    assert.equal(await dave.getByLabel("Message", { exact: true }).count(), 1, "the composer has a label");
    await dave.keyboard.type("typed with keys only");
    await dave.keyboard.press("Enter");
    await dave.locator("#message-list .msg.mine:not(.pending) .bubble", { hasText: "typed with keys only" }).waitFor();
  });

  await step("links, Today and grouped messages", async () => {
    for (const body of ["one", "two", "docs at https://example.com/docs?x=1. not javascript:alert(1)"]) {
      assert.equal((await fromCarol(body)).status, 201);
    }
    const withLink = dave.locator("#message-list .bubble", { hasText: "docs at" });
    await withLink.waitFor();
    const links = await withLink.locator("a").evaluateAll((anchors) =>
      anchors.map((a) => [a.getAttribute("href"), a.rel, a.target]),
    );
    assert.deepEqual(links, [["https://example.com/docs?x=1", "noopener noreferrer", "_blank"]]);
    assert.deepEqual(await dave.locator("#message-list .day").allTextContents(), ["Today"]);
    const labels = await dave.evaluate(() => {
      const day = 24 * 3600 * 1000;
      return [0, 1, 3].map((days) => dayLabel(new Date(Date.now() - days * day).toISOString()));
    });
    assert.deepEqual(labels.slice(0, 2), ["Today", "Yesterday"]);
    assert.match(labels[2], /\d/, "older days by their date");
    // "one", "two" and the link follow "from my phone" and "morning!": one group of carol's.
    assert.ok((await dave.locator("#message-list .msg.grouped").count()) >= 3, "carol's run of messages is grouped");
    await dave.locator("#announcer p", { hasText: "carol: docs at https://example.com/docs" }).waitFor();
  });

  await step("unread: the title, notifications, the divider, the pill, and reads only for what was seen", async () => {
    await dave.click("#notify");
    await dave.locator("#notify").waitFor({ state: "hidden" });
    // Everything so far was on screen: dave has read it all before he looks away.
    const latest = await lastMessageSeq();
    const before = await markReaches(daveBase, direct.id, (mark) => mark >= latest);
    await dave.click("#bot-chat");
    await dave.locator("#chat-title", { hasText: BOT }).waitFor();
    const burst = 40;
    for (let index = 1; index <= burst; index += 1) assert.equal((await fromCarol(`burst ${index}`)).status, 201);
    await dave.waitForFunction((count) => document.title === `(${count}) chat`, burst);
    const shown = await dave.evaluate(() => window.shown);
    assert.ok(shown.length >= 1 && shown.every((notice) => notice.title === "carol"), JSON.stringify(shown));

    await conversationNamed(dave, "carol").click();
    const divider = dave.locator("#unread-divider");
    await divider.waitFor();
    const afterDivider = await divider.evaluate((node) => node.nextElementSibling.querySelector(".bubble").textContent);
    assert.equal(afterDivider, "burst 1", "the divider sits above the first unread message");
    await shot(dave, "unread-divider");
    // The page sends a mark for what is on screen: past the divider, short of the end.
    const seen = await markReaches(daveBase, direct.id, (mark) => mark > before);
    const lastSeq = await lastMessageSeq();
    assert.ok(seen < lastSeq, `read up to ${seen} of ${lastSeq}, though most of the burst is below the fold`);
    assert.match(await dave.title(), /^\(\d+\) chat$/, "what is below the fold is still unread");

    assert.equal((await fromCarol("one more")).status, 201);
    const pill = dave.locator("#new-pill");
    await pill.waitFor();
    await shot(dave, "new-pill");
    await pill.click();
    await pill.waitFor({ state: "hidden" });
    await markReaches(daveBase, direct.id, (mark) => mark >= lastSeq + 1);
    await dave.waitForFunction(() => document.title === "chat");
  });

  await step("the composer grows with its lines and sends them as one message", async () => {
    const height = () => dave.locator("#body").evaluate((node) => node.offsetHeight);
    const single = await height();
    await dave.focus("#body");
    for (const line of ["first line", "second line", "third line"]) {
      await dave.keyboard.type(line);
      if (line !== "third line") await dave.keyboard.press("Shift+Enter");
    }
    assert.ok((await height()) > single, "three lines make it taller");
    await dave.keyboard.press("Enter");
    await dave
      .locator("#message-list .msg.mine:not(.pending) .bubble", { hasText: "first line\nsecond line\nthird line" })
      .waitFor();
    assert.equal(await height(), single, "empty again, one line again");
    await shot(dave, "dark-mode");
  });

  await step("the README's browser example runs on a page the server serves", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = readme.split("<!-- browser-example -->\n```js\n")[1].split("```")[0];
    const firstLine = 'import { ChatClient, IndexedDbOutboxStore } from "/client/index.js";';
    assert.ok(example.startsWith(firstLine), "the example starts with its import");
    assert.ok(example.includes('const me = "alice";'), "the example names its user");
    // As the README says to write it in a console: the import made dynamic.
    // As erin, a user of this test's own (the two-node run shares its
    // database with chat.test.mjs, whose alice has a conversation pinned).
    const script = example
      .replace(firstLine, 'const { ChatClient, IndexedDbOutboxStore } = await import("/client/index.js");')
      .replace('const me = "alice";', 'const me = "erin";');
    assert.equal((await rest(daveBase, "erin", "GET", "conversations")).status, 200);
    assert.equal((await rest(daveBase, "erin", "PUT", "direct/dave")).status, 200);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(daveBase);
    await page.evaluate(`(async () => { ${script} })()`);
    await conversationNamed(dave, "erin").click();
    await bubble(dave, "hello").waitFor();
    // The example logs each message it is handed: dave's answer too.
    const heard = page.waitForEvent("console", { predicate: (entry) => entry.text() === "hello yourself" });
    await say(dave, "hello yourself");
    await heard;
    await context.close();
  });
});
