/**
 * Minimal OpenAI-compatible HTTP server for harness experiments and e2e tests.
 * Listens on 127.0.0.1 (port 0 by default) and records every request.
 *
 *   GET  /v1/models                 -> { object: "list", data: [{ id, object: "model", ... }] }
 *   POST /v1/chat/completions       -> one chat.completion, or SSE chunks ending in `data: [DONE]`
 *                                      when the body has `stream: true`
 *   anything else                   -> 404 JSON error
 *
 * Only node: built-ins are used.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path including query string, e.g. "/v1/chat/completions". */
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body text. */
  body: string;
  /** Parsed JSON body, when it parses. */
  json?: unknown;
  /** Time the request arrived (ms epoch). */
  at: number;
}

export interface OpenAIStubOptions {
  port?: number;
  /** Model ids served by GET /v1/models (default ["m1"]). */
  models?: string[];
  /** Assistant reply text (default "Hello from stub"). May depend on the request. */
  reply?: string | ((req: RecordedRequest) => string);
  /**
   * Optional gate run before routing: return a status code (e.g. 401) to reject the request with
   * an OpenAI-style JSON error, or undefined to continue.
   */
  authorize?: (req: RecordedRequest) => number | undefined;
}

export interface OpenAIStub {
  /** e.g. "http://127.0.0.1:40123" */
  url: string;
  /** e.g. "http://127.0.0.1:40123/v1" (use as baseURL). */
  baseURL: string;
  port: number;
  requests: RecordedRequest[];
  /** Resolves once `n` requests matching `filter` have been recorded (event-driven). */
  waitForRequests(n: number, filter?: (r: RecordedRequest) => boolean): Promise<RecordedRequest[]>;
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function startOpenAIStub(opts: OpenAIStubOptions = {}): Promise<OpenAIStub> {
  const models = opts.models ?? ["m1"];
  const requests: RecordedRequest[] = [];
  const waiters = new Set<{
    n: number;
    filter: (r: RecordedRequest) => boolean;
    resolve: (r: RecordedRequest[]) => void;
  }>();
  const notify = () => {
    for (const w of waiters) {
      const hits = requests.filter(w.filter);
      if (hits.length >= w.n) {
        waiters.delete(w);
        w.resolve(hits);
      }
    }
  };

  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const rec: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        at: Date.now(),
      };
      try {
        rec.json = body ? JSON.parse(body) : undefined;
      } catch {
        /* not JSON */
      }
      requests.push(rec);
      notify();

      const denied = opts.authorize?.(rec);
      if (denied !== undefined) {
        sendJson(res, denied, {
          error: {
            message: `stub rejected request (${denied})`,
            type: "invalid_request_error",
            code: denied,
          },
        });
        return;
      }

      const path = rec.path.split("?")[0];
      if (rec.method === "GET" && path === "/v1/models") {
        sendJson(res, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "stub" })),
        });
        return;
      }
      if (rec.method === "POST" && path === "/v1/chat/completions") {
        const j = (rec.json ?? {}) as { model?: string; stream?: boolean };
        const model = j.model ?? models[0] ?? "m1";
        const text = typeof opts.reply === "function" ? opts.reply(rec) : (opts.reply ?? "Hello from stub");
        const id = `chatcmpl-stub-${requests.length}`;
        const created = Math.floor(Date.now() / 1000);
        const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
        if (j.stream) {
          res.writeHead(200, {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            connection: "keep-alive",
          });
          const chunk = (delta: object, finish: string | null, extra: object = {}) =>
            `data: ${JSON.stringify({
              id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [{ index: 0, delta, finish_reason: finish }],
              ...extra,
            })}\n\n`;
          res.write(chunk({ role: "assistant", content: "" }, null));
          for (const piece of text.match(/.{1,8}/gs) ?? []) res.write(chunk({ content: piece }, null));
          res.write(chunk({}, "stop", { usage }));
          res.end("data: [DONE]\n\n");
          return;
        }
        sendJson(res, 200, {
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage,
        });
        return;
      }
      sendJson(res, 404, { error: { message: `no route ${rec.method} ${path}`, type: "not_found" } });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err) } });
      else res.end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    port,
    requests,
    waitForRequests(n, filter = () => true) {
      return new Promise((resolve) => {
        waiters.add({ n, filter, resolve });
        notify();
      });
    },
    reset() {
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}
