/**
 * PKCE on the device grant, as Keycloak enforces it for clients that require PKCE: the device
 * authorization request must carry an S256 `code_challenge`, and every device-code poll the
 * matching `code_verifier`. oidc-provider has no such rule (RFC 8628 defines none), so the sandbox
 * adds it around oidc-provider's own handlers. Test/sandbox use only.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { IncomingMessage, type ServerResponse } from "node:http";
// @ts-expect-error -- untyped deep import: oidc-provider's per-instance internals (registered grant handlers)
import instance from "oidc-provider/lib/helpers/weak_cache.js";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_AUTHORIZATION_PATH = "/device/auth";
const MAX_BODY = 64 * 1024;

interface Challenge {
  challenge?: string;
  method?: string;
}

interface KoaContext {
  status: number;
  body: unknown;
  oidc?: { route?: string; params?: Record<string, unknown> };
}

type ErrorClass = new (description?: string) => Error;

export interface DevicePkce {
  /** Handles a raw request when it is a device authorization request; false: not ours. */
  intercept(
    req: IncomingMessage,
    res: ServerResponse,
    handle: (req: IncomingMessage, res: ServerResponse) => void,
  ): boolean;
  /** Koa middleware part, after oidc-provider answered a device authorization request. */
  afterDeviceAuthorization(ctx: KoaContext): void;
}

/** Wraps oidc-provider's device-code grant so that it checks the verifier first. */
export function enforceDevicePkce(
  provider: {
    registerGrantType(
      name: string,
      handler: (ctx: KoaContext) => Promise<void>,
      params: string[],
      dupes?: string[],
    ): void;
  },
  errors: { InvalidGrant: ErrorClass },
): DevicePkce {
  const challenges = new Map<string, string>();
  const current = new AsyncLocalStorage<Challenge>();
  const handlers = (
    instance(provider) as { grantTypeHandlers: Map<string, (ctx: KoaContext) => Promise<void>> }
  ).grantTypeHandlers;
  const original = handlers.get(DEVICE_GRANT);
  if (!original) throw new Error("oidc-provider has no device-code grant registered");
  provider.registerGrantType(
    DEVICE_GRANT,
    async (ctx) => {
      const code = String(ctx.oidc?.params?.device_code ?? "");
      const expected = challenges.get(code);
      const verifier = ctx.oidc?.params?.code_verifier;
      if (expected !== undefined) {
        const actual =
          typeof verifier === "string"
            ? createHash("sha256").update(verifier).digest("base64url")
            : undefined;
        if (actual !== expected) throw new errors.InvalidGrant("PKCE verification failed");
      }
      await original(ctx);
    },
    ["device_code", "code_verifier", "resource"],
    ["resource"],
  );

  return {
    intercept(req, res, handle) {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "POST" || path !== DEVICE_AUTHORIZATION_PATH) return false;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const form = new URLSearchParams(body.toString("utf8"));
        const found: Challenge = {};
        const challenge = form.get("code_challenge");
        const method = form.get("code_challenge_method");
        if (challenge) found.challenge = challenge;
        if (method) found.method = method;
        current.run(found, () => handle(replay(req, body), res));
      });
      return true;
    },
    afterDeviceAuthorization(ctx) {
      if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== "object") return;
      const found = current.getStore() ?? {};
      const invalid = (description: string) => {
        ctx.status = 400;
        ctx.body = { error: "invalid_request", error_description: description };
      };
      if (!found.challenge) return invalid("Missing parameter: code_challenge");
      if (found.method !== "S256") return invalid("Invalid parameter: code_challenge_method must be S256");
      challenges.set(String((ctx.body as Record<string, unknown>).device_code), found.challenge);
    },
  };
}

/** The same request again, with the body already read (oidc-provider reads it from the stream). */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method ?? "POST";
  copy.url = req.url ?? "/";
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = { ...req.headers, "content-length": String(body.length) };
  copy.rawHeaders = req.rawHeaders;
  // As the HTTP parser leaves a finished request: else destroying the copy would destroy the socket.
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}
