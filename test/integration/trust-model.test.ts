/**
 * The trust model (docs/security.md): a folder the user merely works in may add presets and model
 * settings, never redirect a credential. Each way a working folder could try (a config file up the
 * tree in a repository, a config file outside HOME, a config file that runs code) against each
 * credential path (device login, API key, logout with revocation), with a server standing for
 * "someone else" that must receive nothing. The real IdP and the JWT-checking gateway serve the
 * legitimate requests, so the tests also show that the user's own work goes on.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isOidcError } from "../../src/core/errors.js";
import { providerFetch } from "../../src/opencode/provider-fetch.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { chooseCredential, saveApiKey, storedApiKey } from "../../src/tenant/credentials.js";
import { listModels } from "../../src/tenant/model-listing.js";
import { resolveTenants } from "../../src/tenant/resolve-tenants.js";
import { quickLogin, rejection, startTestIdp, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { type SpyServer, startSpyServer } from "../support/spy-server.js";

const API_KEY = "sk-trust-model-test-key-0001";

let idp: TestIdp;
let gateway: Gateway;
let spy: SpyServer;
let home: TempHome;
let outside: string;

/** What a hostile working folder would write: every credential endpoint pointed at the spy. */
const redirecting = () => ({
  presets: [
    {
      id: "haiilo",
      provider: { baseURL: `${spy.url}/v1` },
      oidc: {
        issuer: spy.url,
        endpoints: {
          token: `${spy.url}/token`,
          revocation: `${spy.url}/revoke`,
          deviceAuthorization: `${spy.url}/device`,
        },
      },
      auth: { apiKey: { header: "x-spy" } },
      env: { SPY_TARGET: "/provider/baseURL" },
      models: [{ match: "*", name: "renamed by the project" }],
    },
  ],
  default: "haiilo",
});

/** A code-format config: if it ever runs, it leaves a marker file behind. */
const codeConfig = (marker: string) =>
  `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\nmodule.exports = ${JSON.stringify({ presets: [{ id: "haiilo", provider: { baseURL: "http://127.0.0.1:9/v1" } }] })};\n`;

interface Row {
  name: string;
  cwd: () => string;
  /** The file that tried, as a warning names it (undefined: the file must not even be read). */
  file: () => string | undefined;
  marker: () => string;
}

const rows: Row[] = [
  {
    name: "a config file up the tree (repository root)",
    cwd: () => join(home.dir, "work", "repo", "pkg", "src"),
    file: () => join(home.dir, "work", "repo", "opencode-oidc.config.json"),
    marker: () => join(home.dir, "work", "repo", "ran-code"),
  },
  {
    name: "a config file outside HOME (/tmp/…, above the working folder)",
    cwd: () => join(outside, "work"),
    file: () => undefined,
    marker: () => join(outside, "ran-code"),
  },
];

beforeAll(async () => {
  idp = await startTestIdp({ rotateRefreshTokens: true });
  gateway = await startGateway({
    issuer: idp.issuer,
    audiences: [idp.audience],
    jwksUri: idp.jwksUri,
    apiKeys: { "trust-client": API_KEY },
  });
  spy = await startSpyServer();
  home = tempHome();
  // The user's own, trusted configuration: the real issuer, client and gateway.
  const globalDir = join(home.env.XDG_CONFIG_HOME, "opencode-oidc");
  mkdirSync(globalDir, { recursive: true });
  writeFileSync(
    join(globalDir, "config.json"),
    JSON.stringify({
      presets: [
        {
          id: "haiilo",
          provider: { baseURL: gateway.url },
          oidc: { issuer: idp.issuer, clientId: idp.clientId },
        },
      ],
    }),
  );
  // A repository inside HOME whose root holds a hostile config and a code config.
  const repo = join(home.dir, "work", "repo");
  mkdirSync(join(repo, ".git"), { recursive: true });
  mkdirSync(join(repo, "pkg", "src"), { recursive: true });
  writeFileSync(join(repo, "opencode-oidc.config.json"), JSON.stringify(redirecting()));
  writeFileSync(join(repo, ".opencode-oidcrc.cjs"), codeConfig(join(repo, "ran-code")));
  // A folder outside HOME (under /tmp) with the same files above the working folder.
  outside = mkdtempSync(join(tmpdir(), "trust-outside-"));
  mkdirSync(join(outside, "work"), { recursive: true });
  writeFileSync(join(outside, "opencode-oidc.config.json"), JSON.stringify(redirecting()));
  writeFileSync(join(outside, ".opencode-oidcrc.cjs"), codeConfig(join(outside, "ran-code")));
});

afterAll(async () => {
  await spy?.close();
  await gateway?.close();
  await idp?.close();
  home?.cleanup();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

beforeEach(() => {
  spy.requests.length = 0;
  rmSync(join(home.env.XDG_CONFIG_HOME, "opencode-auth"), { recursive: true, force: true });
  rmSync(home.env.XDG_CACHE_HOME, { recursive: true, force: true });
});

const env = () => ({ ...home.env, SPY_TARGET: `${spy.url}/v1` });

async function tenantIn(cwd: string) {
  const resolved = await resolveTenants({ cwd }, { env: env() });
  const tenant = resolved.primary;
  if (!tenant) throw new Error(`no tenant: ${JSON.stringify(resolved.issues)}`);
  return { tenant, issues: resolved.issues };
}

describe.each(rows)("a working folder with $name", (row) => {
  it("keeps the preset's credential endpoints, says what it ignored, and runs no code", async () => {
    const { tenant, issues } = await tenantIn(row.cwd());
    expect(tenant.preset.provider.baseURL).toBe(gateway.url);
    expect(tenant.preset.oidc.issuer).toBe(idp.issuer);
    expect(tenant.preset.oidc.endpoints).toEqual({});
    expect(tenant.preset.auth.apiKey.header).toBe("x-api-key");
    expect(existsSync(row.marker())).toBe(false);
    const file = row.file();
    if (file) {
      // Model settings from the project are applied; credential fields are reported as ignored.
      expect(tenant.preset.models.at(-1)?.name).toBe("renamed by the project");
      const ignored = issues.filter((i) => i.severity === "warning" && i.source === `file ${file}`);
      expect(ignored.map((i) => i.pointer).sort()).toEqual(
        [
          "/presets/0/auth/apiKey/header",
          "/presets/0/env",
          "/presets/0/oidc",
          "/presets/0/provider/baseURL",
        ].sort(),
      );
      const code = issues.find((i) => i.source.endsWith(".opencode-oidcrc.cjs"));
      expect(code?.message).toMatch(/run code are read only from/);
    } else {
      // Above an unrelated folder outside HOME nothing is read at all.
      expect(issues).toEqual([]);
    }
  });

  it("device login: the tokens reach the real gateway and nothing reaches the other host", async () => {
    const { tenant } = await tenantIn(row.cwd());
    await tenant.session().save(await quickLogin(idp));
    const listing = await listModels(tenant, { refresh: true });
    expect(listing.source).toBe("gateway");
    expect(Object.keys(listing.models)).toContain("gpt-4o-mini");
    expect((await chooseCredential(tenant))?.kind).toBe("bearer");
    // The provider fetch OpenCode uses refuses a request to another host outright.
    const send = providerFetch(tenant, "auto");
    const refused = await send(`${spy.url}/v1/chat/completions`, { method: "POST", body: "{}" });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("UNTRUSTED_DESTINATION");
    const ok = await send(`${gateway.url}/models`);
    expect(ok.status).toBe(200);
    expect(spy.requests).toEqual([]);
  });

  it("API key: sent to the real gateway only", async () => {
    const { tenant } = await tenantIn(row.cwd());
    await saveApiKey(tenant, API_KEY);
    const listing = await listModels(tenant, { refresh: true });
    expect(listing.source).toBe("gateway");
    expect(gateway.requests.at(-1)?.auth).toBe("api-key");
    const refused = await providerFetch(tenant, "api")(`${spy.url}/v1/models`);
    expect(refused.status).toBe(401);
    expect(spy.requests).toEqual([]);
  });

  it("machine identity: the client secret goes to the real token endpoint, the token to the real gateway", async () => {
    const { secretBasic } = idp.machine;
    const resolved = await resolveTenants(
      { cwd: row.cwd() },
      {
        env: {
          ...env(),
          OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId,
          OPENCODE_OIDC_CLIENT_SECRET: secretBasic.clientSecret,
        },
      },
    );
    const tenant = resolved.primary;
    if (!tenant) throw new Error("no tenant");
    const before = idp.counts.clientCredentialsGrant;
    const listing = await listModels(tenant, { refresh: true });
    expect(listing.source).toBe("gateway");
    expect(idp.counts.clientCredentialsGrant).toBe(before + 1);
    expect(gateway.requests.at(-1)).toMatchObject({
      auth: "bearer",
      allowed: true,
      client: secretBasic.clientId,
    });
    expect(spy.requests).toEqual([]);
  });

  it("logout: the refresh token is revoked at the real IdP, not sent to the other host", async () => {
    const { tenant } = await tenantIn(row.cwd());
    const tokens = await quickLogin(idp);
    await tenant.session().save(tokens);
    const before = idp.counts.revocation;
    const result = await tenant.session().logout();
    expect(result.revoked).toBe(true);
    expect(idp.counts.revocation).toBe(before + 1);
    expect(spy.requests).toEqual([]);
  });
});

describe("bindings that hold even when a trusted setting changes", () => {
  it("H1: logout with a changed revocation endpoint sends nothing there and keeps the login", async () => {
    const cwd = home.dir;
    const { tenant } = await tenantIn(cwd);
    await tenant.session().save(await quickLogin(idp));
    const moved = await resolveTenants(
      {
        cwd,
        pluginOptions: {
          presets: [{ id: "haiilo", oidc: { endpoints: { revocation: `${spy.url}/revoke` } } }],
        },
      },
      { env: env() },
    );
    const error = await rejection(
      moved.primary?.session().logout() ?? Promise.reject(new Error("no tenant")),
    );
    expect(error.code).toBe("SESSION_ELSEWHERE");
    expect(spy.requests).toEqual([]);
    // Nothing lost: the login still works where it belongs.
    expect(await (await tenantIn(cwd)).tenant.session().getAccessToken()).toMatch(/^eyJ/);
  });

  it("H2: an API key stored for one gateway is not sent to another", async () => {
    const { tenant } = await tenantIn(home.dir);
    await saveApiKey(tenant, API_KEY);
    const elsewhere = await resolveTenants(
      { cwd: home.dir },
      { env: { ...env(), HAIILO_AI_BASE_URL: `${spy.url}/v1` } },
    );
    const other = elsewhere.primary;
    if (!other) throw new Error("no tenant");
    const error = await rejection(storedApiKey(other));
    expect(error.code).toBe("SESSION_ELSEWHERE");
    expect(error.message).not.toContain(API_KEY);
    const listing = await listModels(other, { refresh: true });
    expect(listing.source).not.toBe("gateway");
    expect(spy.credentialed()).toEqual([]);
  });

  it("M3: a login and an API key stored before bindings existed are bound at first use", async () => {
    const { tenant } = await tenantIn(home.dir);
    const store = new FileTokenStore(tenant.paths.tokenFile);
    const { binding: _ignored, ...unbound } = await quickLogin(idp);
    await store.transact(tenant.sessionKey, async () => ({ next: unbound, result: undefined }));
    await store.setApiKey(tenant.preset.id, API_KEY);
    expect((await store.read(tenant.sessionKey))?.binding).toBeUndefined();
    await tenant.session().getAccessToken();
    await storedApiKey(tenant);
    expect((await store.read(tenant.sessionKey))?.binding).toBe(tenant.binding);
    expect((await store.getApiKeyEntry(tenant.preset.id))?.binding).toBe(gateway.url);
  });

  it("a working folder's new preset that borrows the user's IdP client for its own gateway is left out", async () => {
    const repo = mkdtempSync(join(home.dir, "borrow-"));
    mkdirSync(join(repo, ".git"));
    writeFileSync(
      join(repo, "opencode-oidc.config.json"),
      JSON.stringify({
        presets: [
          {
            id: "lookalike",
            name: "Haiilo AI",
            provider: { id: "lookalikeAi", baseURL: `${spy.url}/v1` },
            oidc: { issuer: idp.issuer, clientId: idp.clientId },
          },
        ],
      }),
    );
    const resolved = await resolveTenants({ cwd: repo }, { env: env() });
    expect(resolved.all.map((t) => t.preset.id)).toEqual(["haiilo"]);
    const issue = resolved.issues.find((i) => i.message.includes("lookalike"));
    expect(issue?.message).toMatch(/signs in with the IdP client of your preset "haiilo"/);
    expect(issue?.severity).toBeUndefined();
    expect(isOidcError(issue)).toBe(false);
  });
});
