// Builds the client for the standalone server's page: the ES modules tsc
// emits from src/ (all but the generated types, which emit nothing a
// browser runs), copied to examples/standalone/static/client/, where the
// server embeds them (cargo alone builds the server, so they are
// committed). With --check it writes nothing and fails when the committed
// copies are stale.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const target = fileURLToPath(new URL("../../../examples/standalone/static/client/", import.meta.url));
const banner = "// Built from clients/typescript/src by clients/typescript/scripts/page.mjs: do not edit.\n";

/** The committed copy of `name`, or nothing. */
function committedText(name) {
  try {
    return readFileSync(join(target, name), "utf8");
  } catch {
    return undefined;
  }
}

const out = mkdtempSync(join(tmpdir(), "chat-page-client-"));
try {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json", "--declaration", "false", "--outDir", out], { cwd: here, stdio: "inherit" });
  const modules = readdirSync(out).filter((name) => name.endsWith(".js")).sort();
  const stale = [];
  for (const name of modules) {
    const text = banner + readFileSync(join(out, name), "utf8");
    if (!process.argv.includes("--check")) writeFileSync(join(target, name), text);
    else if (committedText(name) !== text) stale.push(name);
  }
  const committed = readdirSync(target).filter((name) => name.endsWith(".js")).sort();
  const extra = committed.filter((name) => !modules.includes(name));
  if (stale.length > 0 || extra.length > 0) {
    console.error(`examples/standalone/static/client is stale (run npm run page): ${[...stale, ...extra].join(", ")}`);
    process.exit(1);
  }
  console.log(`page client: ${modules.join(", ")}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
