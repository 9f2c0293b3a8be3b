// One "OpenCode window" for the soak: a Session (built engine) on a shared token store. Prints
// "ready", starts on a "go" line on stdin, then loops: take the current token, and report it
// rejected (what the provider fetch does after a gateway 401), which forces a refresh unless another
// process has already replaced that token. A "stop" line ends the loop after the current round; the
// outcome is one JSON line: rounds, refresh calls, the sha256 (16 hex) of every token seen, errors.
// Usage: node faults-soak-worker.mjs <engine.js URL> <store file> <issuer> <client id> <preset>
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

const [engineUrl, storeFile, issuer, clientId, preset] = process.argv.slice(2);
const { FileTokenStore, Session } = await import(engineUrl);

const session = new Session({
  key: { preset, issuer, clientId },
  settings: {
    issuer,
    clientId,
    scopes: ["openid", "profile", "email", "offline_access"],
    audience: null,
    audienceParam: "none",
  },
  storage: new FileTokenStore(storeFile),
  skewSeconds: 300,
});

let stop = false;
let go;
const started = new Promise((resolve) => {
  go = resolve;
});
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "go") go();
  if (line === "stop") stop = true;
});
process.stdout.write("ready\n");
await started;

const hash = (token) => createHash("sha256").update(token).digest("hex").slice(0, 16);
const seen = new Set();
const errors = [];
let rounds = 0;
while (!stop) {
  try {
    const token = await session.getAccessToken();
    seen.add(hash(token));
    seen.add(hash(await session.getAccessToken({ rejected: token })));
    rounds += 1;
  } catch (error) {
    errors.push({ code: error?.code, message: String(error?.message) });
    if (error?.code === "SESSION_ENDED" || error?.code === "NOT_LOGGED_IN" || errors.length >= 5) break;
  }
}
const result = { rounds, refreshCalls: session.refreshCalls, tokens: [...seen], errors };
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
