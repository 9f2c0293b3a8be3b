// A loopback HTTP server that answers every request with the same 1 KB JSON body (keep-alive).
// Runs in its own process so the client-side cost of a fetch is not mixed with the server's.
// Prints "port <n>" on stdout; exits when stdin closes (the parent went away) or on SIGTERM.
import { createServer } from "node:http";

const filler = "x".repeat(1024);
const base = { id: "chatcmpl-bench", object: "chat.completion", model: "bench", pad: "" };
const pad = 1024 - JSON.stringify(base).length;
const body = Buffer.from(JSON.stringify({ ...base, pad: filler.slice(0, pad) }));
if (body.length !== 1024) throw new Error(`body is ${body.length} bytes`);

let requests = 0;
let withBearer = 0;
const server = createServer((req, res) => {
  requests += 1;
  if ((req.headers.authorization ?? "").startsWith("Bearer ey")) withBearer += 1;
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
process.stdin.on("data", (d) => {
  if (String(d).includes("stats"))
    process.stdout.write(`stats ${JSON.stringify({ requests, withBearer })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
