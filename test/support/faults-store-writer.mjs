// Writes the token store in a tight loop from the built engine, until killed. Each write stores
// generation n+1 of one session (access and ID token both carry n and a 32 KiB padding, so a torn
// or mixed write is visible), then prints "wrote <n>" (stdout to a pipe is synchronous on Linux, so
// a printed n is on disk). With "hold", it takes the lock once and waits inside it forever.
// Usage: node faults-store-writer.mjs <engine.js URL> <store file> [loop|hold]
const [engineUrl, storeFile, mode = "loop"] = process.argv.slice(2);
const { FileTokenStore } = await import(engineUrl);

const logger = { log: (level, message) => process.stdout.write(`log ${level} ${message}\n`) };
const store = new FileTokenStore(storeFile, logger);
const key = { preset: "p", issuer: "http://127.0.0.1:9", clientId: "c" };
const pad = "x".repeat(32 * 1024);

if (mode === "hold") {
  // Keep the process alive while it holds the lock (a pending promise alone would let Node exit,
  // and proper-lockfile releases its locks on a normal exit).
  setInterval(() => {}, 60_000);
  await store.transact(key, async () => {
    process.stdout.write("holding\n");
    await new Promise(() => {});
    return { result: undefined };
  });
}
for (;;) {
  const n = await store.transact(key, async (current) => {
    const next = current ? Number(current.accessToken.split("-")[1]) + 1 : 1;
    const now = Date.now();
    return {
      next: {
        accessToken: `access-${next}-${pad}`,
        idToken: `id-${next}-${pad}`,
        refreshToken: `refresh-${next}`,
        tokenType: "bearer",
        obtainedAt: now,
        expiresAt: now + 3_600_000,
      },
      result: next,
    };
  });
  process.stdout.write(`wrote ${n}\n`);
}
