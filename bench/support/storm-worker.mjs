// One "OpenCode window" in a refresh storm (adapted from test/support/session-worker.mjs): a Session
// on the shared token store from the built engine. Prints "ready", waits for a line on stdin (the start
// barrier), then makes <callers> concurrent getAccessToken() calls and prints one JSON line.
// Usage: node storm-worker.mjs <engine.js URL> <store file> <issuer> <client id> <preset> <callers>
const [engineUrl, storeFile, issuer, clientId, preset, callersArg] = process.argv.slice(2);
const { FileTokenStore, Session } = await import(engineUrl);
const callers = Number(callersArg);

const session = new Session({
  key: { preset, issuer, clientId },
  settings: {
    issuer,
    clientId,
    scopes: ["openid", "profile", "email", "offline_access", "haiiloai:inference"],
    audience: null,
    audienceParam: "none",
  },
  storage: new FileTokenStore(storeFile),
  skewSeconds: 300,
});

process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const started = performance.now();
const settled = await Promise.allSettled(Array.from({ length: callers }, () => session.getAccessToken()));
const ms = performance.now() - started;
const tokens = new Set();
const codes = {};
for (const s of settled) {
  if (s.status === "fulfilled") tokens.add(s.value);
  else codes[s.reason?.code ?? "unknown"] = (codes[s.reason?.code ?? "unknown"] ?? 0) + 1;
}
const result = {
  ok: settled.length - Object.values(codes).reduce((a, b) => a + b, 0),
  failed: Object.values(codes).reduce((a, b) => a + b, 0),
  codes,
  tokens: [...tokens],
  refreshCalls: session.refreshCalls,
  ms,
};
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
