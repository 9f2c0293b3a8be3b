/**
 * A real OpenID Connect provider (oidc-provider) on loopback that behaves like an Okta custom
 * authorization server: the Device Authorization Grant (RFC 8628, optionally with PKCE as Keycloak
 * enforces it) and the Authorization Code grant with PKCE and a loopback redirect (RFC 8252) for one
 * native client, machine clients (client credentials, private_key_jwt, client assertions) and an
 * RFC 8693 token exchange; JWT access tokens for one audience, refresh tokens with rotation,
 * revocation, plus test hooks (counts, faults, pause/resume, directly minted tokens). Options
 * reshape it for other vendors (opaque tokens, no default audience, another access token issuer, a
 * public issuer behind a proxy): see test/support/vendor-idp.ts. Test/sandbox use only.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
// @ts-expect-error -- oidc-provider 9 ships no type declarations
import Provider, { errors } from "oidc-provider";
// @ts-expect-error -- untyped deep import; the per-instance memory store of oidc-provider
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";
import { type DevicePkce, enforceDevicePkce } from "./idp-device-pkce.js";
import { type MachineClients, machineSetup, TOKEN_EXCHANGE_GRANT } from "./idp-machine.js";

export interface IdpOptions {
  host?: string;
  port?: number;
  /** The issuer URL clients use, when they reach this IdP through a proxy (default: its own address). */
  issuer?: string;
  clientId?: string;
  audience?: string;
  /** Extra scopes besides openid profile email offline_access; they become the audience's API scopes. */
  scopes?: string[];
  accessTokenTtlSeconds?: number;
  rotateRefreshTokens?: boolean;
  deviceInterval?: number;
  enforceSlowDown?: boolean;
  issueRefreshToken?: boolean;
  /** Lifetime of a device code (default 600). Once expired it answers expired_token for ~15 s, then invalid_grant. */
  deviceCodeTtlSeconds?: number;
  /** Require PKCE (S256) on the device grant, as a Keycloak client that enforces PKCE does. */
  devicePkce?: boolean;
  /**
   * Redirect URIs of the native client (default `http://127.0.0.1/callback`: any port, RFC 8252
   * §7.3). Give exact ones (`http://127.0.0.1:18400/callback`) to behave like Okta.
   */
  redirectUris?: string[];
  users?: Record<string, { email: string; name?: string }>;
  /** `opaque`: reference access tokens (PingFederate's default, Google's), with `expires_in` only. Default `jwt`. */
  accessTokenFormat?: "jwt" | "opaque";
  /**
   * Issue tokens for the audience when the client names no `resource` (default true, as Okta's
   * custom authorization servers do). false: such logins get an opaque token for userinfo only,
   * as Auth0 without `audience` does.
   */
  defaultResource?: boolean;
  /** The `iss` written into JWT access tokens, when it is not the issuer (Entra ID v1 tokens). */
  accessTokenIssuer?: string;
  log?: (line: string) => void;
}

/** Which requests a fault hits: the token endpoint (default), the revocation or device authorization endpoint, or every request. */
export type FaultEndpoints = "token" | "revocation" | "device" | "all";

export type IdpFault =
  | null
  | { status: number; body?: string; endpoints?: FaultEndpoints }
  | { delayMs: number; endpoints?: FaultEndpoints }
  /** A careless IdP: answers 400 `invalid_request` with the request's form body in `error_description`. */
  | { echo: true; endpoints?: FaultEndpoints };

const FAULT_PATHS: Record<Exclude<FaultEndpoints, "all">, string> = {
  token: "/token",
  revocation: "/token/revocation",
  device: "/device/auth",
};

export interface IdpCounts {
  deviceAuthorization: number;
  deviceCodeGrant: number;
  authorizationCodeGrant: number;
  clientCredentialsGrant: number;
  tokenExchangeGrant: number;
  /** Machine grants (client credentials, token exchange) answered with an error. */
  machineGrantFailures: number;
  refreshGrant: number;
  refreshGrantFailures: number;
  revocation: number;
}

export interface TestIdp {
  issuer: string;
  /** Where the server listens (differs from the issuer when `IdpOptions.issuer` puts a proxy in front). */
  listenUrl: string;
  jwksUri: string;
  clientId: string;
  audience: string;
  /** Confidential clients and the token exchange, with their secrets and keys. */
  machine: MachineClients;
  counts: IdpCounts;
  setFault(f: IdpFault): void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
  mintAccessToken(
    claims?: Record<string, unknown>,
    opts?: { expiresInSeconds?: number; audience?: string; issuer?: string },
  ): Promise<string>;
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const BASE_SCOPES = ["openid", "profile", "email", "offline_access"];

interface SigningKey {
  privateJwk: JWK;
  privateKey: CryptoKey;
  kid: string;
}

let signingKey: Promise<SigningKey> | undefined;

/** One RSA key per process: generating it costs ~100 ms, reusing it makes start ~2 ms. */
function getSigningKey(): Promise<SigningKey> {
  signingKey ??= (async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = `sandbox-${randomUUID().slice(0, 8)}`;
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
    return { privateJwk, privateKey, kid };
  })();
  return signingKey;
}

/** The subset of a Koa context used by the middleware below (oidc-provider is untyped). */
interface KoaContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  oidc?: { route?: string; params?: Record<string, unknown> };
}

interface ModelAdapter {
  find(id: string): Promise<unknown>;
  [key: string]: unknown;
}

/** Wraps the DeviceCode adapter so polls (token endpoint only) faster than `interval` fail with slow_down. */
function slowDownAdapter(
  base: (name: string) => ModelAdapter,
  intervalMs: () => number,
  inTokenEndpoint: () => boolean,
): (name: string) => ModelAdapter {
  const lastPoll = new Map<string, number>();
  return (name) => {
    const adapter = base(name);
    if (name !== "DeviceCode") return adapter;
    const find = adapter.find.bind(adapter);
    adapter.find = async (id: string) => {
      if (inTokenEndpoint()) {
        const now = Date.now();
        const previous = lastPoll.get(id);
        lastPoll.set(id, now);
        if (previous !== undefined && now - previous < intervalMs()) throw new errors.SlowDown();
      }
      return find(id);
    };
    return adapter;
  };
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startIdp(opts: IdpOptions = {}): Promise<TestIdp> {
  const host = opts.host ?? "127.0.0.1";
  const clientId = opts.clientId ?? "sandbox-cli";
  const audience = opts.audience ?? "api://sandbox-gateway";
  const apiScopes = opts.scopes ?? [];
  const accessTokenTtl = opts.accessTokenTtlSeconds ?? 3600;
  const deviceInterval = opts.deviceInterval ?? 5;
  const users = opts.users ?? { alice: { email: "alice@example.com", name: "Alice Example" } };
  const log = opts.log ?? (() => {});
  const key = await getSigningKey();

  const counts: IdpCounts = {
    deviceAuthorization: 0,
    deviceCodeGrant: 0,
    authorizationCodeGrant: 0,
    clientCredentialsGrant: 0,
    tokenExchangeGrant: 0,
    machineGrantFailures: 0,
    refreshGrant: 0,
    refreshGrantFailures: 0,
    revocation: 0,
  };
  let fault: IdpFault = null;
  const route = new AsyncLocalStorage<string>();

  const server = createServer();
  await listen(server, opts.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  const issuer = opts.issuer ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const accessTokenFormat = opts.accessTokenFormat ?? "jwt";

  const mint = async (
    claims: Record<string, unknown> = {},
    o: { expiresInSeconds?: number; audience?: string; issuer?: string } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: clientId, scope: apiScopes.join(" "), sub: "alice", ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: key.kid })
      .setIssuer(o.issuer ?? issuer)
      .setAudience(o.audience ?? audience)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + (o.expiresInSeconds ?? accessTokenTtl))
      .sign(key.privateKey);
  };
  const machines = await machineSetup({
    issuer,
    apiScopes,
    accessTokenTtl,
    mintAccessToken: mint,
    errors,
  });

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: [DEVICE_GRANT, "authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: opts.redirectUris ?? ["http://127.0.0.1/callback"],
      },
      ...machines.clients,
    ],
    jwks: { keys: [key.privateJwk] },
    ...(opts.accessTokenIssuer && {
      formats: {
        customizers: {
          jwt: async (_ctx: unknown, _token: unknown, jwt: { payload: Record<string, unknown> }) => {
            jwt.payload.iss = opts.accessTokenIssuer;
          },
        },
      },
    }),
    adapter: slowDownAdapter(
      // 15 s = oidc-provider's default clockTolerance: an expired device code answers expired_token that long.
      createMemoryAdapter(15),
      () => deviceInterval * 1000,
      () => opts.enforceSlowDown === true && route.getStore() === "token",
    ),
    scopes: [...BASE_SCOPES, ...apiScopes],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // Put email/name in the ID token even though an access token is issued too (Okta does).
    conformIdTokenClaims: false,
    findAccount: async (_ctx: unknown, accountId: string) => {
      const user = users[accountId];
      // Unknown login: the device flow ends with access_denied (the login page itself accepts anything).
      if (!user) throw new errors.AccessDenied(`unknown user ${accountId}`);
      return {
        accountId,
        claims: async () => ({
          sub: accountId,
          email: user.email,
          email_verified: true,
          name: user.name ?? accountId,
        }),
      };
    },
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(g: string): boolean },
      source: { scopes: Set<string> },
    ) =>
      opts.issueRefreshToken !== false &&
      client.grantTypeAllowed("refresh_token") &&
      source.scopes.has("offline_access"),
    rotateRefreshToken: opts.rotateRefreshTokens ?? true,
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      DeviceCode: opts.deviceCodeTtlSeconds ?? 600,
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 24 * 3600,
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        // A public client may revoke only its own tokens (the default policy, minus its notice).
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: deviceInputPage,
        userCodeConfirmSource: deviceConfirmPage,
        successSource: deviceSuccessPage,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string) =>
          oneOf ?? (opts.defaultResource === false ? undefined : audience),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return {
            scope: apiScopes.join(" "),
            audience,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat,
            ...(accessTokenFormat === "jwt" && { jwt: { sign: { alg: "RS256" } } }),
          };
        },
      },
    },
  });

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, machines.tokenExchange, machines.tokenExchangeParameters, [
    "resource",
    "audience",
  ]);
  const devicePkce: DevicePkce | undefined = opts.devicePkce
    ? enforceDevicePkce(provider, errors)
    : undefined;

  provider.use(async (ctx: KoaContext, next: () => Promise<void>) => {
    await route.run(ctx.path === "/token" ? "token" : "other", next);
    const name = ctx.oidc?.route;
    const grantType = ctx.oidc?.params?.grant_type;
    if (name === "device_authorization") {
      devicePkce?.afterDeviceAuthorization(ctx);
      counts.deviceAuthorization += 1;
      if (ctx.status === 200 && ctx.body && typeof ctx.body === "object") {
        (ctx.body as Record<string, unknown>).interval = deviceInterval;
      }
    } else if (name === "token" && grantType === DEVICE_GRANT) {
      counts.deviceCodeGrant += 1;
    } else if (name === "token" && grantType === "refresh_token") {
      counts.refreshGrant += 1;
      if (ctx.status >= 400) counts.refreshGrantFailures += 1;
    } else if (name === "token" && grantType === "authorization_code") {
      counts.authorizationCodeGrant += 1;
    } else if (
      name === "token" &&
      (grantType === "client_credentials" || grantType === TOKEN_EXCHANGE_GRANT)
    ) {
      if (grantType === "client_credentials") counts.clientCredentialsGrant += 1;
      else counts.tokenExchangeGrant += 1;
      if (ctx.status >= 400) counts.machineGrantFailures += 1;
    } else if (name === "revocation") {
      counts.revocation += 1;
    }
    const detail = grantType ? ` grant_type=${String(grantType)}` : "";
    log(`idp ${ctx.method} ${ctx.path}${detail} -> ${ctx.status}`);
  });

  const handle = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const active = fault;
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/auth") req.url = withOfflineConsent(req.url ?? "/auth");
    const endpoints = active?.endpoints ?? "token";
    if (!active || (endpoints !== "all" && path !== FAULT_PATHS[endpoints])) {
      if (devicePkce?.intercept(req, res, handle)) return;
      return handle(req, res);
    }
    if ("delayMs" in active) {
      log(`idp fault: delaying ${req.method} ${path} by ${active.delayMs} ms`);
      const timer = setTimeout(() => handle(req, res), active.delayMs);
      res.once("close", () => clearTimeout(timer));
      return;
    }
    if ("echo" in active) {
      log(`idp fault: echoing ${req.method} ${path}`);
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const received = Buffer.concat(chunks).toString("utf8");
        res.writeHead(400, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(
          JSON.stringify({
            error: "invalid_request",
            error_description: `could not process the request: ${received}`,
          }),
        );
      });
      return;
    }
    log(`idp fault: ${req.method} ${path} -> ${active.status}`);
    req.resume();
    const body =
      active.body ?? JSON.stringify({ error: "server_error", error_description: "injected fault" });
    res.writeHead(active.status, {
      "content-type": body.startsWith("{") ? "application/json" : "text/plain",
      "cache-control": "no-store",
    });
    res.end(body);
  });

  return {
    issuer,
    listenUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    jwksUri: `${issuer}/jwks`,
    clientId,
    audience,
    machine: machines.machine,
    counts,
    setFault(f) {
      fault = f;
    },
    async pause() {
      await closeServer(server);
    },
    async resume() {
      if (!server.listening) await listen(server, port, host);
    },
    async close() {
      await closeServer(server);
    },
    mintAccessToken: mint,
  };
}

/**
 * oidc-provider follows OIDC Core §11 to the letter and drops `offline_access` from an authorization
 * request without `prompt=consent`; Okta, Entra ID, Keycloak and Auth0 issue the refresh token
 * anyway. Adding the prompt on the way in makes the sandbox behave like them.
 */
function withOfflineConsent(url: string): string {
  const parsed = new URL(url, "http://idp.invalid");
  const scopes = (parsed.searchParams.get("scope") ?? "").split(" ");
  const prompts = (parsed.searchParams.get("prompt") ?? "").split(" ").filter(Boolean);
  if (!scopes.includes("offline_access") || prompts.includes("consent")) return url;
  parsed.searchParams.set("prompt", [...prompts, "consent"].join(" "));
  return `${parsed.pathname}${parsed.search}`;
}

// Plain replacements of oidc-provider's default device pages (the defaults log a notice when used).
// Forms, field names and ids are the same, so approve.ts drives them like a browser would.
interface PageContext {
  type: string;
  body: string;
}

function page(title: string, inner: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${inner}</body></html>`;
}

async function deviceInputPage(
  ctx: PageContext,
  form: string,
  _out: unknown,
  err?: { name?: string; userCode?: string },
) {
  let message = "Enter the code displayed on your device";
  if (err?.name === "AbortedError") message = "The Sign-in request was interrupted";
  else if (err && (err.userCode || err.name === "NoCodeError"))
    message = "The code you entered is incorrect. Try again";
  else if (err) message = "There was an error processing your request";
  ctx.type = "html";
  ctx.body = page(
    "Sign-in",
    `<p id="message">${message}</p>${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

async function deviceConfirmPage(
  ctx: PageContext,
  form: string,
  _client: unknown,
  _info: unknown,
  userCode: string,
) {
  ctx.type = "html";
  ctx.body = page(
    "Confirm Device",
    `<p>The following code should be displayed on your device: <code>${userCode}</code></p>${form}` +
      `<button autofocus type="submit" form="op.deviceConfirmForm">Continue</button>` +
      `<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`,
  );
}

async function deviceSuccessPage(ctx: PageContext) {
  ctx.type = "html";
  ctx.body = page("Sign-in Success", "<p>Your sign-in was successful, you can now close this page.</p>");
}
