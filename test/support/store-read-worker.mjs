// Reads a token store and then tries a write, from the built engine, and prints both outcomes as one
// JSON line. With "emfile" it first opens /dev/null until the process has no file descriptor left.
// Usage: node store-read-worker.mjs <engine.js URL> <store file> <preset> <issuer> <client id> [emfile]
import { closeSync, openSync } from "node:fs";

const [engineUrl, storeFile, preset, issuer, clientId, mode] = process.argv.slice(2);
const { FileTokenStore } = await import(engineUrl);
const store = new FileTokenStore(storeFile);
const key = { preset, issuer, clientId };

const outcome = (promise) =>
  promise.then(
    (value) => ({ ok: true, found: value !== undefined }),
    (error) => ({ ok: false, code: error?.code, message: String(error?.message), hint: error?.hint }),
  );

const handles = [];
if (mode === "emfile") {
  for (;;) {
    try {
      handles.push(openSync("/dev/null", "r"));
    } catch (error) {
      if (error.code === "EMFILE") break;
      throw error;
    }
  }
}
const read = await outcome(store.read(key));
const tokens = {
  accessToken: "written-by-the-worker-xxxxxxxx",
  tokenType: "Bearer",
  expiresAt: Date.now() + 3_600_000,
  obtainedAt: Date.now(),
};
const write = await outcome(store.transact(key, async () => ({ next: tokens, result: undefined })));
for (const handle of handles) closeSync(handle);
process.stdout.write(`${JSON.stringify({ read, write, handles: handles.length })}\n`, () => process.exit(0));
