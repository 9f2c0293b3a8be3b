/**
 * A real glewlwyd (Debian package 2.7.x, an OIDC server in C) on 127.0.0.1 for the integration
 * tests, set up headless: a fresh SQLite database from the packaged schema, its own config file
 * (glewlwyd/glewlwyd.conf.in), an ephemeral port, then through its REST admin API the OIDC plugin
 * instance (RSA key made at run time), the scopes, a user and a public client with the device and
 * refresh grants. `approve()` is a person approving a device code, done through the same API.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const GLEWLWYD_BINARY = "/usr/bin/glewlwyd";
/** The SQLite schema (with the admin user and the database user/client modules) the package ships. */
export const GLEWLWYD_SCHEMA = "/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3";
const CONFIG_TEMPLATE = fileURLToPath(new URL("./glewlwyd/glewlwyd.conf.in", import.meta.url));
const LOG_FOLDER = fileURLToPath(new URL("../../test-results/glewlwyd", import.meta.url));
/** The packaged schema's administrator; its password is replaced by a random one at start. */
const ADMIN = { username: "admin", password: "password" };
const START_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 5_000;

/** Why glewlwyd cannot run here, or undefined when it can (binary, packaged schema, sqlite3). */
export function glewlwydUnavailable(): string | undefined {
  if (!existsSync(GLEWLWYD_BINARY)) return `${GLEWLWYD_BINARY} is missing (apt-get install glewlwyd)`;
  if (!existsSync(GLEWLWYD_SCHEMA)) return `${GLEWLWYD_SCHEMA} is missing (apt-get install glewlwyd)`;
  if (spawnSync("sqlite3", ["-version"]).status !== 0) return "sqlite3 is missing (apt-get install sqlite3)";
  return undefined;
}

export interface GlewlwydOptions {
  /** Scopes besides openid, profile, email and offline_access (the API scope of the gateway). */
  apiScopes?: string[];
  clientId?: string;
  /** Seconds; default 3600. */
  accessTokenSeconds?: number;
  /** "always" (default): each refresh token works once, a refresh returns a new one. */
  refreshTokenOneUse?: "always" | "never";
  /** Seconds between device polls the server asks for; default 1. */
  deviceInterval?: number;
  /**
   * An RFC 8707 resource the API scopes map to: access tokens then carry it as `aud` when the
   * client asks for it with `resource=`. glewlwyd accepts only https (or loopback http) URLs here.
   */
  resource?: string;
  /** The client's redirect URIs; glewlwyd matches them exactly (a loopback port too). */
  redirectUris?: string[];
  /** Extra OIDC plugin parameters (override the defaults). */
  plugin?: Record<string, unknown>;
  logLevel?: "ERROR" | "WARNING" | "INFO" | "DEBUG";
}

export interface Glewlwyd {
  /** external_url, without a trailing slash. */
  url: string;
  /** The OIDC plugin's issuer: `<url>/api/oidc`. */
  issuer: string;
  jwksUri: string;
  clientId: string;
  user: { username: string; email: string };
  /** Every scope the client may ask for, including the API scopes. */
  scopes: string[];
  /** `options.resource`, when resource indicators are on. */
  resource?: string;
  /** A person approving a device login: signs in, grants the client its scopes, confirms the code. */
  approve(userCode: string, scope?: string): Promise<void>;
  /**
   * A person finishing a browser login: signs in, grants the client the URL's scopes, opens the
   * authorization URL. Answers where glewlwyd sends the browser next (the redirect URI with code and
   * state, or with an error).
   */
  authorize(authorizationUrl: string): Promise<URL>;
  /** Everything glewlwyd printed so far. */
  log(): string;
  /** How many lines of the log match (e.g. "Refresh token generated" once per issued refresh token). */
  countLog(pattern: RegExp): number;
  /** Stops the server; with `keepLog`, copies its log to test-results/glewlwyd/ and says where. */
  stop(options?: { keepLog?: boolean }): Promise<void>;
}

/** The smallest cookie jar the admin and login API need (glewlwyd's session cookie). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** A JSON API client with one cookie session (an admin, or a user approving a login). */
class ApiSession {
  private readonly jar = new CookieJar();
  constructor(private readonly base: string) {}

  async call(method: string, path: string, body?: unknown, expect = [200]): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    const cookie = this.jar.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    this.jar.store(response.headers);
    if (!expect.includes(response.status)) {
      const text = await response.text().catch(() => "");
      throw new Error(`glewlwyd: ${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return response;
  }

  async login(username: string, password: string): Promise<void> {
    await this.call("POST", "/api/auth/", { username, password });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function poll<T>(what: string, deadline: number, probe: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`glewlwyd: ${what} did not happen in time`, { cause: last });
}

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** Starts the binary on a free port; resolves when it says it listens, rejects if it exits first. */
async function launch(dir: string, database: string, logLevel: string): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = readFileSync(CONFIG_TEMPLATE, "utf8")
    .replaceAll("@PORT@", String(port))
    .replaceAll("@EXTERNAL_URL@", url)
    .replaceAll("@LOG_LEVEL@", logLevel)
    .replaceAll("@DATABASE@", database);
  const configFile = join(dir, "glewlwyd.conf");
  writeFileSync(configFile, config, { mode: 0o600 });
  let output = "";
  const child = spawn(GLEWLWYD_BINARY, [`--config-file=${configFile}`], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`glewlwyd did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (/Glewlwyd started on port/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`glewlwyd exited (${code ?? signal}) while starting:\n${output}`));
    });
  });
  try {
    await started;
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { child, port, output: () => output };
}

function rsaKey(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { key: privateKey, cert: publicKey };
}

export async function startGlewlwyd(options: GlewlwydOptions = {}): Promise<Glewlwyd> {
  const unavailable = glewlwydUnavailable();
  if (unavailable) throw new Error(`glewlwyd cannot run: ${unavailable}`);
  const dir = mkdtempSync(join(tmpdir(), "glewlwyd-"));
  const database = join(dir, "glewlwyd.sqlite3");
  const schema = spawnSync("sqlite3", [database], { input: readFileSync(GLEWLWYD_SCHEMA), encoding: "utf8" });
  if (schema.status !== 0) throw new Error(`glewlwyd: creating the database failed: ${schema.stderr}`);

  // The port is free when chosen but may be taken before glewlwyd binds it: try a few.
  let running: Running | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && !running; attempt += 1) {
    try {
      running = await launch(dir, database, options.logLevel ?? "INFO");
    } catch (error) {
      lastError = error;
    }
  }
  if (!running) {
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }
  const { child } = running;
  const url = `http://127.0.0.1:${running.port}`;
  const issuer = `${url}/api/oidc`;
  const clientId = options.clientId ?? "opencode-cli";
  const apiScopes = options.apiScopes ?? ["haiiloai:inference"];
  const scopes = ["openid", "profile", "email", "offline_access", ...apiScopes];
  const username = "alice";
  const userPassword = randomBytes(12).toString("hex");
  const email = "alice@example.com";

  const stop = async ({ keepLog = false } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    if (keepLog) {
      mkdirSync(LOG_FOLDER, { recursive: true });
      const saved = join(LOG_FOLDER, `glewlwyd-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
      writeFileSync(saved, running.output());
      copyFileSync(join(dir, "glewlwyd.conf"), saved.replace(/\.log$/, ".conf"));
      console.warn(`glewlwyd log saved to ${saved}`);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const admin = new ApiSession(url);
    await poll("the admin login", Date.now() + START_TIMEOUT_MS, async () => {
      await admin.login(ADMIN.username, ADMIN.password);
      return true;
    });
    // The packaged schema's admin password is public; nobody else on this machine should use it.
    const adminPassword = randomBytes(12).toString("hex");
    await admin.call("PUT", "/api/user/admin?source=database", {
      username: ADMIN.username,
      name: "The Administrator",
      enabled: true,
      scope: ["g_admin", "g_profile"],
      password: adminPassword,
    });
    await admin.login(ADMIN.username, adminPassword);

    for (const name of scopes.filter((s) => s !== "openid")) {
      await admin.call("POST", "/api/scope/", {
        name,
        display_name: name,
        description: `test scope ${name}`,
        password_required: false,
        scheme: {},
      });
    }
    const { key, cert } = rsaKey();
    await admin.call("POST", "/api/mod/plugin/", {
      module: "oidc",
      name: "oidc",
      display_name: "OpenID Connect",
      enabled: true,
      parameters: {
        iss: issuer,
        "jwt-type": "rsa",
        "jwt-key-size": "256",
        key,
        cert,
        "jwks-show": true,
        "subject-type": "public",
        "access-token-duration": options.accessTokenSeconds ?? 3600,
        "refresh-token-duration": 1_209_600,
        "code-duration": 600,
        "refresh-token-rolling": true,
        "refresh-token-one-use": options.refreshTokenOneUse ?? "always",
        "allow-non-oidc": false,
        "auth-type-code-enabled": true,
        "auth-type-token-enabled": false,
        "auth-type-id-token-enabled": true,
        "auth-type-none-enabled": false,
        "auth-type-password-enabled": false,
        "auth-type-client-enabled": false,
        "auth-type-device-enabled": true,
        "auth-type-refresh-enabled": true,
        "device-authorization-expiration": 600,
        "device-authorization-interval": options.deviceInterval ?? 1,
        "pkce-allowed": true,
        "pkce-method-plain-allowed": false,
        "introspection-revocation-allowed": true,
        "introspection-revocation-allow-target-client": true,
        "allowed-scope": scopes,
        ...(options.resource && {
          "resource-allowed": true,
          "resource-scope": Object.fromEntries(apiScopes.map((scope) => [scope, [options.resource]])),
          "resource-scope-and-client-property": false,
        }),
        "email-claim": "mandatory",
        "name-claim": "on-demand",
        "scope-claim": "mandatory",
        scope: [],
        claims: [],
        "additional-parameters": [],
        ...options.plugin,
      },
    });
    await admin.call("POST", "/api/user/?source=database", {
      username,
      name: "Alice",
      email,
      password: userPassword,
      enabled: true,
      scope: scopes,
    });
    await admin.call("POST", "/api/client/?source=database", {
      client_id: clientId,
      name: "opencode-oidc tests",
      confidential: false,
      enabled: true,
      authorization_type: ["device_authorization", "refresh_token", "code", "delete_token"],
      redirect_uri: options.redirectUris ?? ["http://127.0.0.1/callback"],
      scope: scopes,
    });
    await poll("the OIDC discovery document", Date.now() + START_TIMEOUT_MS, async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return response.ok ? true : undefined;
    });

    const approve = async (userCode: string, scope = scopes.join(" ")) => {
      const person = new ApiSession(url);
      await person.login(username, userPassword);
      await person.call("PUT", `/api/auth/grant/${encodeURIComponent(clientId)}`, { scope });
      const done = await person.call(
        "GET",
        `/api/oidc/device?code=${encodeURIComponent(userCode)}&g_continue`,
        undefined,
        [302],
      );
      const location = done.headers.get("location") ?? "";
      if (!/prompt=deviceComplete/.test(location))
        throw new Error(`glewlwyd: the device approval ended at ${location.replace(/[?#].*$/, "")}`);
    };

    const authorize = async (authorizationUrl: string) => {
      const target = new URL(authorizationUrl);
      if (target.origin !== url) throw new Error(`glewlwyd: ${target.origin} is not this server`);
      const person = new ApiSession(url);
      await person.login(username, userPassword);
      const scope = target.searchParams.get("scope") ?? scopes.join(" ");
      await person.call("PUT", `/api/auth/grant/${encodeURIComponent(clientId)}`, { scope });
      // glewlwyd first sends the browser to its login page, which opens callback_url (the same
      // request) with g_continue added once the person has signed in and consented.
      const first = await person.call("GET", `${target.pathname}${target.search}`, undefined, [302]);
      const login = new URL(first.headers.get("location") ?? "", url);
      const callback = login.searchParams.get("callback_url");
      if (!callback || new URL(callback, url).origin !== url) return login;
      const then = new URL(callback, url);
      const answer = await person.call("GET", `${then.pathname}${then.search}&g_continue`, undefined, [302]);
      return new URL(answer.headers.get("location") ?? "", url);
    };

    return {
      url,
      issuer,
      jwksUri: `${issuer}/jwks`,
      clientId,
      user: { username, email },
      scopes,
      ...(options.resource && { resource: options.resource }),
      approve,
      authorize,
      log: running.output,
      countLog: (pattern) =>
        running
          .output()
          .split("\n")
          .filter((line) => pattern.test(line)).length,
      stop,
    };
  } catch (error) {
    await stop({ keepLog: true });
    throw error;
  }
}
