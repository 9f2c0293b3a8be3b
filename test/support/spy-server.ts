/**
 * A server that stands for "someone else's host": it answers every request (200, an empty model
 * list) and records what it received, so a test can assert that no credential ever arrived.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SpyRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SpyServer {
  url: string;
  requests: SpyRequest[];
  /** Requests that carried any credential (an Authorization or x-api-key header, or a token in the body). */
  credentialed(): SpyRequest[];
  close(): Promise<void>;
}

export async function startSpyServer(): Promise<SpyServer> {
  const requests: SpyRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    credentialed: () =>
      requests.filter(
        (r) =>
          r.headers.authorization !== undefined ||
          r.headers["x-api-key"] !== undefined ||
          /token=|eyJ|sk-/.test(r.body),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
