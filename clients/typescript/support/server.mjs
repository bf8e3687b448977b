// What the tests share: the standalone server as a real child process (the
// binary cargo built), a TCP proxy that forwards each new connection to
// whichever server runs now (so a client keeps one address across
// restarts, as behind a load balancer), REST calls, and HS256 tokens.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { createInterface } from "node:readline";

const binary =
  process.env.CHAT_STANDALONE ?? new URL("../../../target/debug/standalone", import.meta.url).pathname;

/** Starts the server on `database` with `flags`; resolves once /health answers 200. */
export async function startServer(database, flags = []) {
  const child = spawn(
    binary,
    ["--bind", "127.0.0.1:0", "--log", "warn", "--database-url", `sqlite://${database}`, ...flags],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, "line");
  const base = line.replace("listening on http://", "");
  lines.on("line", () => {});
  for (let tries = 0; ; tries += 1) {
    const healthy = await fetch(`http://${base}/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (tries > 500) throw new Error(`the server at ${base} never became healthy`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    base,
    /** SIGKILL: no shutdown code runs. */
    async kill() {
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

/** A proxy on a loopback port forwarding to `upstream.address` at each connection. */
export async function startProxy(upstream) {
  const sockets = new Set();
  const server = net.createServer((inbound) => {
    const [host, port] = upstream.address.split(":");
    const outbound = net.connect(Number(port), host);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    base: `127.0.0.1:${server.address().port}`,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** One REST call as the bearer of `token`: [status, JSON body]. */
export async function call(method, base, token, path, body) {
  const response = await fetch(`http://${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [response.status, await response.json().catch(() => null)];
}

/** Every message of a conversation, page by page. */
export async function history(base, token, cid) {
  const messages = [];
  for (let after = 0; ; ) {
    const [status, page] = await call("GET", base, token, `/conversations/${cid}/messages?after=${after}&limit=200`);
    if (status !== 200) throw new Error(`history: ${status}`);
    if (page.messages.length === 0) return messages;
    messages.push(...page.messages);
    after = page.messages.at(-1).seq;
  }
}

/** An HS256 JWT for `user`, valid `seconds` from now. */
export function mint(secret, user, seconds) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ sub: user, exp: Math.floor(Date.now() / 1000) + seconds })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
