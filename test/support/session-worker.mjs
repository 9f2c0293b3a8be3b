// One "OpenCode window": a Session on a shared token store, from the built engine. Prints "ready",
// waits for a line on stdin (the start barrier), asks for an access token once, prints the outcome
// as one JSON line and exits.
// Usage: node session-worker.mjs <engine.js URL> <store file> <issuer> <client id> <preset> [naive|keyring]
// With "naive", the store is a peer without a lock or re-read (a control showing what the race does).
// With "keyring", the store is kept encrypted with its key in the OS keyring (tokenStore "keyring").
import { readFile, writeFile } from "node:fs/promises";

const [engineUrl, storeFile, issuer, clientId, preset, mode] = process.argv.slice(2);
const { FileTokenStore, Session } = await import(engineUrl);

const id = `${preset}|${issuer}|${clientId}`;
const naiveStorage = {
  async read() {
    return JSON.parse(await readFile(storeFile, "utf8")).sessions[id];
  },
  async transact(_key, fn) {
    const data = JSON.parse(await readFile(storeFile, "utf8"));
    const { next, result } = await fn(data.sessions[id]);
    if (next) data.sessions[id] = { ...data.sessions[id], ...next };
    if (next !== undefined) await writeFile(storeFile, JSON.stringify(data));
    return result;
  },
};

const session = new Session({
  key: { preset, issuer, clientId },
  settings: {
    issuer,
    clientId,
    scopes: ["openid", "profile", "email", "offline_access"],
    audience: null,
    audienceParam: "none",
  },
  storage:
    mode === "naive"
      ? naiveStorage
      : new FileTokenStore(storeFile, undefined, { mode: mode === "keyring" ? "keyring" : "file" }),
  skewSeconds: 300,
});

process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const started = performance.now();
let result;
try {
  const token = await session.getAccessToken();
  result = { ok: true, token, refreshCalls: session.refreshCalls, ms: performance.now() - started };
} catch (error) {
  result = {
    ok: false,
    code: error?.code,
    message: String(error?.message),
    refreshCalls: session.refreshCalls,
  };
}
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
