/**
 * A local OpenAI-compatible gateway that authenticates like the production Envoy does
 * (jwt_authn for `Authorization: Bearer <JWT>`, Envoy Gateway apiKeyAuth for `x-api-key`) and
 * answers /v1/models, /v1/model/info and /v1/chat/completions deterministically. Test/sandbox use.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeJwt, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";

export interface GatewayModel {
  id: string;
  owned_by?: string;
  context_window?: number;
  max_output_tokens?: number;
  supports_function_calling?: boolean;
  supports_vision?: boolean;
  supports_reasoning?: boolean;
  input_cost_per_token?: number;
  output_cost_per_token?: number;
}

export interface GatewayOptions {
  host?: string;
  port?: number;
  issuer: string;
  audiences: string[];
  jwksUri: string;
  /** Allowed clock skew for exp/nbf, 0..60 s (Envoy's clock_skew_seconds defaults to 60); default 0. */
  clockToleranceSeconds?: number;
  /** clientId -> API key, accepted from the `x-api-key` header. */
  apiKeys?: Record<string, string>;
  models?: GatewayModel[];
  /** Also serve LiteLLM-style GET /v1/model/info and /model/info. */
  modelInfo?: boolean;
  /** One line per request; never contains a token or key. */
  log?: (line: string) => void;
  /** OpenCode's onboarding document, answered at GET /.well-known/opencode without authentication. */
  wellKnown?: unknown;
}

/** Where OpenCode's `auth login <url>` looks, as the production gateway serves it (outside auth). */
export const WELL_KNOWN_PATH = "/.well-known/opencode";

export type AuthKind = "bearer" | "api-key" | "none";

export interface GatewayRequest {
  method: string;
  path: string;
  auth: AuthKind;
  allowed: boolean;
  /** Why a request was denied (see DenyReason). */
  reason?: string;
  /** From the token; on a denied bearer request these are the unverified claims, if decodable. */
  sub?: string;
  aud?: string | string[];
  /** client_id claim of the token, or the API key's client id. */
  client?: string;
  status: number;
}

export type GatewayFault =
  | null
  | { status: number; body?: string }
  | { delayMs: number }
  | { malformedJson: true }
  | { oversizedBytes: number };

export interface Gateway {
  /** The OpenAI-compatible base URL (`…/v1`). */
  url: string;
  /** Scheme, host and port: what a person types in `opencode auth login <origin>`. */
  origin: string;
  /** Serves (or, with undefined, stops serving) the document at /.well-known/opencode. */
  setWellKnown(document: unknown): void;
  requests: GatewayRequest[];
  /** Faults apply after authentication; "models" (default) = GET /v1/models[/id] and the model/info routes. */
  setFault(f: GatewayFault, paths?: "models" | "all"): void;
  close(): Promise<void>;
}

export const DEFAULT_MODELS: GatewayModel[] = [
  {
    id: "gpt-4o-mini",
    owned_by: "openai",
    context_window: 128_000,
    max_output_tokens: 16_384,
    supports_function_calling: true,
    supports_vision: true,
    supports_reasoning: false,
    input_cost_per_token: 1.5e-7,
    output_cost_per_token: 6e-7,
  },
  {
    id: "claude-sonnet-4",
    owned_by: "anthropic",
    context_window: 200_000,
    max_output_tokens: 64_000,
    supports_function_calling: true,
    supports_vision: true,
    supports_reasoning: true,
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
  },
  {
    id: "llama-3.1-70b",
    owned_by: "meta",
    context_window: 128_000,
    max_output_tokens: 4_096,
    supports_function_calling: true,
    supports_vision: false,
    supports_reasoning: false,
    input_cost_per_token: 8.8e-7,
    output_cost_per_token: 8.8e-7,
  },
];

/** Reasons, with the messages Envoy's jwt_authn uses for the same failures. */
const DENY = {
  missing_credentials: ["missing_credentials", "Jwt is missing"],
  jwt_malformed: [
    "invalid_token",
    "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  ],
  jwt_bad_issuer: ["invalid_token", "Jwt issuer is not configured"],
  jwt_bad_audience: ["invalid_token", "Audiences in Jwt are not allowed"],
  jwt_expired: ["invalid_token", "Jwt is expired"],
  jwt_not_yet_valid: ["invalid_token", "Jwt not yet valid"],
  jwt_bad_signature: ["invalid_token", "Jwt verification fails"],
  jwks_fetch_failed: ["invalid_token", "Jwks remote fetch is failed"],
  invalid_api_key: ["invalid_api_key", "Client authentication failed."],
} as const;
export type DenyReason = keyof typeof DENY;

interface AuthResult {
  auth: AuthKind;
  reason?: DenyReason;
  sub?: string;
  aud?: string | string[];
  client?: string;
}

const BODY_LIMIT = 1024 * 1024;

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function classifyJwtError(err: unknown): DenyReason {
  if (err instanceof joseErrors.JWTExpired) return "jwt_expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === "iss") return "jwt_bad_issuer";
    if (err.claim === "aud") return "jwt_bad_audience";
    if (err.claim === "nbf" || err.claim === "iat") return "jwt_not_yet_valid";
    return "jwt_malformed";
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return "jwt_malformed";
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid)
    return "jwks_fetch_failed";
  if (err instanceof joseErrors.JOSEError) return "jwt_bad_signature"; // signature, unknown kid, alg
  return "jwks_fetch_failed"; // network errors while fetching the JWKS
}

function modelInfoEntry(m: GatewayModel) {
  return {
    model_name: m.id,
    litellm_params: { model: `${m.owned_by ?? "sandbox"}/${m.id}` },
    model_info: {
      id: m.id,
      mode: "chat",
      max_input_tokens: m.context_window ?? 128_000,
      max_output_tokens: m.max_output_tokens ?? 4_096,
      max_tokens: m.max_output_tokens ?? 4_096,
      supports_function_calling: m.supports_function_calling ?? true,
      supports_vision: m.supports_vision ?? false,
      supports_reasoning: m.supports_reasoning ?? false,
      input_cost_per_token: m.input_cost_per_token ?? 0,
      output_cost_per_token: m.output_cost_per_token ?? 0,
    },
  };
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function promptText(messages: unknown[]): string {
  return messages
    .map((m) => {
      const content = (m as { content?: unknown })?.content;
      if (typeof content === "string") return content;
      if (Array.isArray(content))
        return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join(" ");
      return "";
    })
    .join(" ");
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const models = opts.models ?? DEFAULT_MODELS;
  const log = opts.log ?? (() => {});
  const clockTolerance = Math.min(60, Math.max(0, opts.clockToleranceSeconds ?? 0));
  const jwks = createRemoteJWKSet(new URL(opts.jwksUri), { timeoutDuration: 5000 });
  const keys = Object.entries(opts.apiKeys ?? {}).map(([client, key]) => ({ client, hash: digest(key) }));
  const requests: GatewayRequest[] = [];
  let fault: GatewayFault = null;
  let wellKnown = opts.wellKnown;
  let faultPaths: "models" | "all" = "models";
  let sequence = 0;

  async function checkBearer(token: string): Promise<AuthResult> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return { auth: "bearer", reason: "jwt_malformed" };
    }
    const seen = {
      auth: "bearer" as const,
      sub: claims.sub,
      aud: claims.aud,
      client: typeof claims.client_id === "string" ? claims.client_id : undefined,
    };
    try {
      await jwtVerify(token, jwks, {
        issuer: opts.issuer,
        audience: opts.audiences,
        clockTolerance,
        algorithms: ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"],
        requiredClaims: ["exp"],
      });
      return seen;
    } catch (err) {
      return { ...seen, reason: classifyJwtError(err) };
    }
  }

  function checkApiKey(given: string): AuthResult {
    const hash = digest(given);
    let client: string | undefined;
    // Compare against every key, without stopping early, so timing does not reveal which matched.
    for (const k of keys) if (timingSafeEqual(hash, k.hash) && client === undefined) client = k.client;
    return client === undefined
      ? { auth: "api-key", reason: "invalid_api_key" }
      : { auth: "api-key", client };
  }

  /**
   * Envoy semantics as modelled here: jwt_authn runs first. If an `Authorization: Bearer` header is
   * present, the JWT alone decides: a valid one is allowed (any x-api-key is ignored), an invalid one
   * is rejected even when a valid x-api-key is also sent (jwt_authn fails a present-but-bad JWT
   * before the API-key filter runs). Without a Bearer header, the x-api-key header decides. With
   * neither, the request is rejected as missing credentials.
   */
  async function authenticate(req: IncomingMessage): Promise<AuthResult> {
    const authorization = req.headers.authorization;
    const bearer =
      authorization && /^bearer(\s+|$)/i.exec(authorization)
        ? authorization.replace(/^bearer\s*/i, "").trim()
        : undefined;
    if (bearer !== undefined)
      return bearer ? checkBearer(bearer) : { auth: "bearer", reason: "jwt_malformed" };
    const apiKey = req.headers["x-api-key"];
    if (typeof apiKey === "string" && apiKey !== "") return checkApiKey(apiKey);
    return { auth: "none", reason: "missing_credentials" };
  }

  function record(req: IncomingMessage, path: string, auth: AuthResult, status: number): void {
    const entry: GatewayRequest = {
      method: req.method ?? "GET",
      path,
      auth: auth.auth,
      allowed: !auth.reason,
      status,
    };
    if (auth.reason) entry.reason = auth.reason;
    if (auth.sub !== undefined) entry.sub = auth.sub;
    if (auth.aud !== undefined) entry.aud = auth.aud;
    if (auth.client !== undefined) entry.client = auth.client;
    requests.push(entry);
    const who = [auth.sub && `sub=${auth.sub}`, auth.client && `client=${auth.client}`]
      .filter(Boolean)
      .join(" ");
    log(
      `gateway ${entry.method} ${path} auth=${auth.auth} ${entry.allowed ? "allow" : "deny"}` +
        `${auth.reason ? ` reason=${auth.reason}` : ""}${who ? ` ${who}` : ""} status=${status}`,
    );
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function error(status: number, message: string, type: string, code?: string) {
    return { status, body: { error: { message, type, ...(code ? { code } : {}) } } };
  }

  function sendFault(res: ServerResponse, f: Exclude<GatewayFault, null | { delayMs: number }>): void {
    if ("status" in f) {
      const body = f.body ?? JSON.stringify({ error: { message: "injected fault", type: "server_error" } });
      res.writeHead(f.status, { "content-type": body.startsWith("{") ? "application/json" : "text/plain" });
      res.end(body);
    } else if ("malformedJson" in f) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"list","data":[{"id":"gpt-4o-mini","object":');
    } else {
      // Valid JSON of at least oversizedBytes bytes, chunked (no content-length to trust up front).
      res.writeHead(200, { "content-type": "application/json" });
      const head = JSON.stringify({
        object: "list",
        data: models.map((m) => ({
          id: m.id,
          object: "model",
          created: 0,
          owned_by: m.owned_by ?? "sandbox",
        })),
      }).slice(0, -1);
      res.write(`${head},"padding":"`);
      let remaining = Math.max(0, f.oversizedBytes - head.length);
      const block = "x".repeat(64 * 1024);
      while (remaining > 0 && !res.destroyed) {
        res.write(block.slice(0, Math.min(block.length, remaining)));
        remaining -= block.length;
      }
      res.end('"}');
    }
  }

  function listModels() {
    const created = 1_700_000_000;
    return {
      object: "list",
      data: models.map((m) => ({ id: m.id, object: "model", created, owned_by: m.owned_by ?? "sandbox" })),
    };
  }

  async function chat(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    auth: AuthResult,
  ): Promise<void> {
    const raw = await readBody(req);
    if (raw === undefined) {
      const e = error(413, "request body too large", "invalid_request_error");
      record(req, path, auth, e.status);
      return sendJson(res, e.status, e.body);
    }
    let body: {
      model?: unknown;
      messages?: unknown;
      stream?: unknown;
      stream_options?: { include_usage?: unknown };
    };
    try {
      body = JSON.parse(raw);
    } catch {
      body = {};
    }
    const model = models.find((m) => m.id === body?.model);
    if (!model) {
      const e =
        typeof body?.model !== "string" || !Array.isArray(body.messages)
          ? error(400, "model and messages are required", "invalid_request_error")
          : error(
              404,
              `The model \`${body.model}\` does not exist`,
              "invalid_request_error",
              "model_not_found",
            );
      record(req, path, auth, e.status);
      return sendJson(res, e.status, e.body);
    }
    if (!Array.isArray(body.messages)) {
      const e = error(400, "messages must be an array", "invalid_request_error");
      record(req, path, auth, e.status);
      return sendJson(res, e.status, e.body);
    }
    sequence += 1;
    const id = `chatcmpl-sandbox-${sequence}`;
    const created = Math.floor(Date.now() / 1000);
    const text = `Hello from ${model.id}`;
    const promptTokens = words(promptText(body.messages));
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: words(text),
      total_tokens: promptTokens + words(text),
    };
    record(req, path, auth, 200);
    if (body.stream !== true) {
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: model.id,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage,
      });
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      res.write(
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: model.id, choices, ...extra })}\n\n`,
      );
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
    for (const piece of text.split(/(?= )/))
      chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]);
    if (body.stream_options?.include_usage === true) chunk([], { usage });
    res.end("data: [DONE]\n\n");
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (
      path === WELL_KNOWN_PATH &&
      wellKnown !== undefined &&
      (req.method === "GET" || req.method === "HEAD")
    ) {
      // Like Envoy's direct response on its own route: no credential is looked at.
      record(req, path, { auth: "none" }, 200);
      req.resume();
      return sendJson(res, 200, wellKnown);
    }
    const auth = await authenticate(req);
    if (auth.reason) {
      const [type, message] = DENY[auth.reason];
      const headers: Record<string, string> = {};
      if (auth.auth === "bearer")
        headers["www-authenticate"] =
          `Bearer realm="sandbox-gateway", error="invalid_token", error_description="${message}"`;
      else if (auth.auth === "none") headers["www-authenticate"] = 'Bearer realm="sandbox-gateway"';
      record(req, path, auth, 401);
      req.resume();
      return sendJson(res, 401, { error: { message, type } }, headers);
    }

    const isModels =
      /^\/v1\/models(\/[^/]+)?$/.test(path) || path === "/v1/model/info" || path === "/model/info";
    const active = fault;
    if (active && (faultPaths === "all" || isModels)) {
      if ("delayMs" in active) {
        const cancelled = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), active.delayMs);
          res.once("close", () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (cancelled) return;
      } else {
        record(req, path, auth, "status" in active ? active.status : 200);
        req.resume();
        return sendFault(res, active);
      }
    }

    const method = req.method ?? "GET";
    const modelById = /^\/v1\/models\/([^/]+)$/.exec(path);
    let reply: { status: number; body: unknown };
    if (method === "POST" && path === "/v1/chat/completions") return chat(req, res, path, auth);
    if (method === "GET" && path === "/v1/models") reply = { status: 200, body: listModels() };
    else if (method === "GET" && modelById) {
      const found = listModels().data.find((m) => m.id === decodeURIComponent(modelById[1] ?? ""));
      reply = found
        ? { status: 200, body: found }
        : error(404, "model not found", "invalid_request_error", "model_not_found");
    } else if (method === "GET" && opts.modelInfo && (path === "/v1/model/info" || path === "/model/info")) {
      reply = { status: 200, body: { data: models.map(modelInfoEntry) } };
    } else reply = error(404, `no route for ${method} ${path}`, "invalid_request_error");
    record(req, path, auth, reply.status);
    req.resume();
    sendJson(res, reply.status, reply.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(
        `gateway internal error on ${req.method} ${(req.url ?? "").split("?")[0]}: ${err instanceof Error ? err.message : String(err)}`,
      );
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: "internal error", type: "server_error" } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}/v1`,
    origin: `http://${host}:${port}`,
    setWellKnown(document) {
      wellKnown = document;
    },
    requests,
    setFault(f, paths = "models") {
      fault = f;
      faultPaths = paths;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
