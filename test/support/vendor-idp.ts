/**
 * Test IdPs that answer like a given vendor: the real oidc-provider (src/sandbox/idp.ts) behind a
 * small loopback proxy that rewrites requests and answers into the vendor's shapes, as listed in
 * docs/idps.md (from each vendor's public documentation):
 *
 * - okta: RFC 8628 answers, JWT access tokens for the authorization server's audience, rotation.
 * - entra (v2 endpoints): refuses `resource` (AADSTS901002); the API is asked for as the scope
 *   `<api>/.default`; a refresh must carry `scope` (AADSTS900144); no `verification_uri_complete`,
 *   a `message` instead; v1-format access tokens with the `sts.windows.net` issuer.
 * - entra-v1 (the legacy `/oauth2/devicecode` endpoint): `verification_url`, numbers as strings.
 * - auth0: the API is chosen with `audience` (`resource` is ignored); without it the access token
 *   is opaque and for userinfo only.
 * - keycloak: JWT access tokens (audience from a mapper); with `pkce: true` a client that enforces
 *   PKCE refuses a device request without `code_challenge` and checks `code_verifier` at polling.
 * - google: `verification_url`, no complete URI; refuses `offline_access` (and always issues a
 *   refresh token); the token endpoint wants the client secret; opaque access tokens; a refresh
 *   answer carries no new refresh token.
 * - ping (PingFederate without a JWT token manager): opaque reference access tokens.
 *
 * Every request the proxy sees is recorded (endpoint, parameter names, whether a client secret came
 * with it), so tests can check where credentials were sent.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { type IdpOptions, startIdp, type TestIdp } from "../../src/sandbox/idp.js";

export type Vendor = "okta" | "entra" | "entra-v1" | "auth0" | "keycloak" | "google" | "ping";

export interface VendorIdpOptions {
  /** Audience of the API (the gateway); default api://sandbox-gateway. */
  audience?: string;
  /** API scopes besides the OIDC ones (openid profile email offline_access). */
  apiScopes?: string[];
  /** Keycloak only: the client enforces PKCE. */
  pkce?: boolean;
  /** Passed on to the oidc-provider underneath (TTL, rotation, ...). */
  idp?: Omit<IdpOptions, "issuer" | "port" | "audience" | "scopes">;
}

export interface RecordedRequest {
  endpoint: "device_authorization" | "token" | "revocation" | "other";
  grantType?: string;
  /** Names of the form parameters sent. */
  parameters: string[];
  scope?: string;
  /** A client secret came with the request (form field or HTTP Basic). */
  clientSecret: boolean;
  /** The proxy refused the request itself with this OAuth error. */
  refused?: string;
}

export interface VendorIdp {
  vendor: Vendor;
  issuer: string;
  clientId: string;
  /** Google only: the client secret its token endpoint wants. */
  clientSecret?: string;
  audience: string;
  /** The `iss` of JWT access tokens (differs from the issuer for Entra ID). */
  accessTokenIssuer: string;
  jwksUri: string;
  accessTokenTtlSeconds: number;
  /** The oidc-provider underneath (counts, faults). */
  upstream: TestIdp;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An Entra-shaped v1 issuer; only ever compared as a string. */
export const ENTRA_V1_ISSUER = "https://sts.windows.net/6c3b1f7e-0000-4000-8000-00000000e1d1/";
const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"];
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const MAX_BODY = 64 * 1024;

interface Exchange {
  endpoint: RecordedRequest["endpoint"];
  form: URLSearchParams;
  headers: IncomingHttpHeaders;
}
type Json = Record<string, unknown>;
type Refusal = { status: number; error: string; description: string };

interface Rules {
  idp: Omit<IdpOptions, "issuer" | "port">;
  /** Refuse (return a refusal) or rewrite `x.form` before it goes upstream. */
  request?(x: Exchange): Refusal | undefined;
  /** Rewrite a JSON answer of the upstream IdP. */
  response?(x: Exchange, status: number, body: Json): void;
}

const refuse = (status: number, error: string, description: string): Refusal => ({
  status,
  error,
  description,
});

function splitScopes(form: URLSearchParams): string[] {
  return (form.get("scope") ?? "").split(" ").filter(Boolean);
}

function hasSecret(x: Exchange): boolean {
  return x.form.has("client_secret") || /^basic\s/i.test(x.headers.authorization ?? "");
}

/** Client id and secret from client_secret_basic or client_secret_post. */
function credentialsOf(x: Exchange): { id?: string; secret?: string } {
  const basic = /^basic\s+(.+)$/i.exec(x.headers.authorization ?? "");
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  }
  return { id: x.form.get("client_id") ?? undefined, secret: x.form.get("client_secret") ?? undefined };
}

function rules(
  vendor: Vendor,
  audience: string,
  apiScopes: string[],
  options: VendorIdpOptions,
  secret: string,
): Rules {
  const base = { audience, scopes: apiScopes, ...options.idp };
  switch (vendor) {
    case "okta":
      return { idp: base };
    case "entra":
      return {
        idp: { ...base, defaultResource: false, accessTokenIssuer: ENTRA_V1_ISSUER },
        request(x) {
          if (x.endpoint !== "device_authorization" && x.endpoint !== "token") return undefined;
          if (x.form.has("resource")) {
            return refuse(
              400,
              "invalid_request",
              "AADSTS901002: The 'resource' request parameter is not supported.",
            );
          }
          const grant = x.form.get("grant_type");
          if (x.endpoint === "token" && grant === "refresh_token" && !x.form.has("scope")) {
            return refuse(
              400,
              "invalid_request",
              "AADSTS900144: The request body must contain the following parameter: 'scope'.",
            );
          }
          if (x.endpoint === "token" && grant === DEVICE_GRANT) return undefined;
          // `<api>/.default` names the API (the audience) and all of its consented permissions.
          const scopes = splitScopes(x.form);
          const apis = scopes
            .filter((s) => s.endsWith("/.default"))
            .map((s) => s.slice(0, -"/.default".length));
          for (const api of apis) {
            if (api !== audience) {
              return refuse(
                400,
                "invalid_resource",
                `AADSTS500011: The resource principal named ${api} was not found.`,
              );
            }
          }
          const kept = scopes.filter((s) => !s.endsWith("/.default"));
          if (apis.length > 0) {
            x.form.set("resource", audience);
            kept.push(...apiScopes.filter((s) => !kept.includes(s)));
          }
          x.form.set("scope", kept.join(" "));
          return undefined;
        },
        response(x, status, body) {
          if (x.endpoint !== "device_authorization" || status !== 200) return;
          delete body.verification_uri_complete;
          body.message = `To sign in, use a web browser to open the page ${String(body.verification_uri)} and enter the code ${String(body.user_code)} to authenticate.`;
        },
      };
    case "entra-v1":
      return {
        idp: base,
        response(x, status, body) {
          if (x.endpoint !== "device_authorization" || status !== 200) return;
          body.verification_url = body.verification_uri;
          delete body.verification_uri;
          delete body.verification_uri_complete;
          body.expires_in = String(body.expires_in);
          body.interval = String(body.interval);
          body.message = `To sign in, use a web browser to open the page ${String(body.verification_url)} and enter the code ${String(body.user_code)} to authenticate.`;
        },
      };
    case "auth0":
      return {
        idp: { ...base, defaultResource: false },
        request(x) {
          if (x.endpoint !== "device_authorization" && x.endpoint !== "token") return undefined;
          // Auth0 knows no RFC 8707 `resource`; the API is the `audience` parameter.
          x.form.delete("resource");
          const api = x.form.get("audience");
          x.form.delete("audience");
          if (api) x.form.set("resource", api);
          return undefined;
        },
      };
    case "keycloak": {
      const challenges = new Map<string, string>();
      return {
        idp: base,
        request(x) {
          if (!options.pkce) return undefined;
          if (x.endpoint === "device_authorization") {
            if (!x.form.get("code_challenge") || x.form.get("code_challenge_method") !== "S256") {
              return refuse(400, "invalid_request", "Missing parameter: code_challenge_method");
            }
            return undefined;
          }
          if (x.endpoint === "token" && x.form.get("grant_type") === DEVICE_GRANT) {
            const expected = challenges.get(x.form.get("device_code") ?? "");
            const verifier = x.form.get("code_verifier");
            x.form.delete("code_verifier");
            const actual = verifier ? createHash("sha256").update(verifier).digest("base64url") : undefined;
            if (!expected || actual !== expected) {
              return refuse(400, "invalid_grant", "PKCE code verifier not specified or does not match");
            }
          }
          return undefined;
        },
        response(x, status, body) {
          if (x.endpoint !== "device_authorization" || status !== 200 || !options.pkce) return;
          challenges.set(String(body.device_code), x.form.get("code_challenge") ?? "");
        },
      };
    }
    case "google":
      return {
        idp: { ...base, accessTokenFormat: "opaque", rotateRefreshTokens: false },
        request(x) {
          if (x.endpoint === "device_authorization") {
            const scopes = splitScopes(x.form);
            if (scopes.includes("offline_access")) {
              return refuse(
                400,
                "invalid_scope",
                "Some requested scopes were invalid. {invalid=[offline_access]}",
              );
            }
            // Google's device flow always returns a refresh token; oidc-provider needs offline_access for one.
            x.form.set("scope", [...scopes, "offline_access"].join(" "));
            return undefined;
          }
          if (x.endpoint !== "token") return undefined;
          // Checked here; the client underneath is public, so the secret does not go on.
          const given = credentialsOf(x);
          x.form.delete("client_secret");
          delete x.headers.authorization;
          if (given.id) x.form.set("client_id", given.id);
          if (given.secret === undefined) return refuse(401, "invalid_client", "client_secret is missing.");
          if (given.secret !== secret) return refuse(401, "invalid_client", "Unauthorized");
          return undefined;
        },
        response(x, status, body) {
          if (status !== 200) return;
          if (x.endpoint === "device_authorization") {
            body.verification_url = body.verification_uri;
            delete body.verification_uri;
            delete body.verification_uri_complete;
          }
          if (x.endpoint === "token" && x.form.get("grant_type") === "refresh_token")
            delete body.refresh_token;
        },
      };
    case "ping":
      return { idp: { ...base, accessTokenFormat: "opaque" } };
  }
}

function endpointOf(path: string): RecordedRequest["endpoint"] {
  if (path === "/device/auth") return "device_authorization";
  if (path === "/token") return "token";
  if (path === "/token/revocation") return "revocation";
  return "other";
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function forward(
  target: URL,
  req: IncomingMessage,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, "content-length": String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    upstream.on("error", reject);
    upstream.end(body);
  });
}

function send(res: ServerResponse, status: number, headers: IncomingHttpHeaders, body: Buffer): void {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === "content-length" || name === "transfer-encoding") continue;
    if (name === "connection" || name === "keep-alive") continue;
    out[name] = value;
  }
  out["content-length"] = String(body.length);
  res.writeHead(status, out);
  res.end(body);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts an oidc-provider that answers like `vendor`, reached through a rewriting proxy on loopback. */
export async function startVendorIdp(vendor: Vendor, options: VendorIdpOptions = {}): Promise<VendorIdp> {
  const audience = options.audience ?? "api://sandbox-gateway";
  const apiScopes = (options.apiScopes ?? []).filter((s) => !OIDC_SCOPES.includes(s));
  const clientSecret = vendor === "google" ? `GOCSPX-${randomBytes(18).toString("base64url")}` : undefined;
  const vendorRules = rules(vendor, audience, apiScopes, options, clientSecret ?? "");
  const requests: RecordedRequest[] = [];
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  // A 50 ms polling interval keeps logins through the engine's own polling loop fast.
  const upstream = await startIdp({ deviceInterval: 0.05, ...vendorRules.idp, issuer, port: 0 });
  const target = new URL(upstream.listenUrl);

  server.on("request", async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const raw = await readBody(req);
      const isForm = /application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "");
      const x: Exchange = {
        endpoint: endpointOf(path),
        form: new URLSearchParams(isForm ? raw.toString("utf8") : ""),
        headers: { ...req.headers },
      };
      const record: RecordedRequest = {
        endpoint: x.endpoint,
        parameters: [...new Set(x.form.keys())],
        clientSecret: hasSecret(x),
      };
      const grantType = x.form.get("grant_type");
      if (grantType) record.grantType = grantType;
      const scope = x.form.get("scope");
      if (scope !== null) record.scope = scope;
      if (x.endpoint !== "other") requests.push(record);
      const refusal = req.method === "POST" ? vendorRules.request?.(x) : undefined;
      if (refusal) {
        record.refused = refusal.error;
        const body = Buffer.from(
          JSON.stringify({ error: refusal.error, error_description: refusal.description }),
        );
        return send(
          res,
          refusal.status,
          { "content-type": "application/json", "cache-control": "no-store" },
          body,
        );
      }
      const body = isForm ? Buffer.from(x.form.toString()) : raw;
      const answer = await forward(target, req, x.headers, body);
      const json = /application\/json/i.test(String(answer.headers["content-type"] ?? ""));
      if (json && vendorRules.response && x.endpoint !== "other") {
        const parsed = JSON.parse(answer.body.toString("utf8")) as Json;
        vendorRules.response(x, answer.status, parsed);
        return send(res, answer.status, answer.headers, Buffer.from(JSON.stringify(parsed)));
      }
      send(res, answer.status, answer.headers, answer.body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`vendor proxy: ${(error as Error).message}`);
    }
  });

  return {
    vendor,
    issuer,
    clientId: upstream.clientId,
    ...(clientSecret && { clientSecret }),
    audience,
    accessTokenIssuer: vendor === "entra" ? ENTRA_V1_ISSUER : issuer,
    jwksUri: upstream.jwksUri,
    accessTokenTtlSeconds: options.idp?.accessTokenTtlSeconds ?? 3600,
    upstream,
    requests,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await upstream.close();
    },
  };
}
