import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ErrorCode, OidcError } from "../errors.js";
import { type CallbackPage, renderCallbackPage } from "./callback-page.js";

/** RFC 8252 §7.3 and §8.3: the loopback IP literal, never `localhost`, never another interface. */
export const LOOPBACK_HOST = "127.0.0.1";

export interface LoopbackListenerOptions {
  /** Ports to try in this order (IdPs that match redirect URIs exactly need registered ones); empty: any free port. */
  ports: readonly number[];
  /** Path of the redirect URI, e.g. `/callback`. */
  path: string;
  /**
   * Called for every request to the callback path with its query parameters. Returns the page the
   * browser is shown, and whether the listener is done (then it closes once the page is sent).
   */
  onRequest(params: URLSearchParams): Promise<{ page: CallbackPage; done: boolean }>;
}

export interface LoopbackListener {
  readonly port: number;
  readonly redirectUri: string;
  /** Stops listening and drops open connections; resolves when the port is free. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the listener has closed (after `close()`, or after a page marked done was sent). */
  readonly closed: Promise<void>;
}

/**
 * The redirect target of a browser login: an HTTP server on 127.0.0.1 that serves only the
 * callback path (GET), shows a small page and frees its port when closed.
 */
export async function startLoopbackListener(options: LoopbackListenerOptions): Promise<LoopbackListener> {
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }).then(markClosed);
    return closing;
  };

  const send = (res: ServerResponse, page: CallbackPage, done = false) => {
    const body = renderCallbackPage(page);
    res.writeHead(page.status, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-content-type-options": "nosniff",
      connection: "close",
    });
    // Closed once the page is out (or the browser went away), so it is never cut off.
    if (done) for (const event of ["finish", "close"]) res.once(event, () => void close());
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${LOOPBACK_HOST}`);
    if (url.pathname !== options.path) {
      send(res, { status: 404, title: "Not found", lines: ["Nothing is served here."] });
      return;
    }
    if (req.method !== "GET") {
      send(res, {
        status: 405,
        title: "Method not allowed",
        lines: ["Only the browser's redirect is served here."],
      });
      return;
    }
    const { page, done } = await options.onRequest(url.searchParams);
    send(res, page, done);
  }

  const port = await listenOnFirstFree(server, options.ports);
  return {
    port,
    redirectUri: `http://${LOOPBACK_HOST}:${port}${options.path}`,
    close,
    closed,
  };
}

async function listenOnFirstFree(server: Server, ports: readonly number[]): Promise<number> {
  const candidates = ports.length > 0 ? ports : [0];
  const busy: number[] = [];
  for (const port of candidates) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, LOOPBACK_HOST, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw error;
      busy.push(port);
    }
  }
  const list = busy.join(", ");
  throw new OidcError(
    ErrorCode.LOOPBACK_PORT_IN_USE,
    `The browser login cannot receive its answer: port${busy.length > 1 ? "s" : ""} ${list} on ${LOOPBACK_HOST} ${busy.length > 1 ? "are" : "is"} in use.`,
    {
      hint: "Another login may still be waiting: finish or cancel it. Otherwise stop the program using the port; the identity provider accepts only the redirect ports registered for the client.",
      details: { ports: busy },
    },
  );
}
