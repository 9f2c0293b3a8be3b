// Holds the token store's lock inside a transaction until a line arrives on stdin, then finishes it.
// Log lines go to stdout as "log <level> <message>"; the outcome as one JSON line.
// Usage: node lock-holder-worker.mjs <engine.js URL> <store file>
const [engineUrl, storeFile] = process.argv.slice(2);
const { FileTokenStore } = await import(engineUrl);

const logger = { log: (level, message) => process.stdout.write(`log ${level} ${message}\n`) };
const store = new FileTokenStore(storeFile, logger, { lock: { staleMs: 2000 } });
const key = { preset: "p", issuer: "http://127.0.0.1:9", clientId: "c" };
const tokens = {
  accessToken: "a".repeat(20),
  tokenType: "bearer",
  expiresAt: Date.now() + 3600_000,
  obtainedAt: Date.now(),
};

let result;
try {
  await store.transact(key, async () => {
    process.stdout.write("holding\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    return { next: tokens, result: undefined };
  });
  result = { ok: true };
} catch (error) {
  result = { ok: false, code: error?.code, message: String(error?.message) };
}
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
