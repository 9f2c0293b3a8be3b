/**
 * Machine identities through the engine against a real oidc-provider: each one read from the
 * environment as a CI job sets it (client secret basic/post, private key PEM/JWK, a client
 * assertion file, an RFC 8693 subject token file), the token verified at the gateway's JWKS; bad
 * input named by its variable; and the Session renewing machine tokens (memory, expiry, four stores
 * sharing one file → one grant).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import type { OidcSettings } from "../../src/core/oauth/client.js";
import { machineGrant } from "../../src/core/oauth/machine-grant.js";
import type { FetchLike, TokenSet } from "../../src/core/ports.js";
import { Session } from "../../src/core/session.js";
import { applyDefaults } from "../../src/presets/defaults.js";
import { machineIdentityFromEnv } from "../../src/presets/machine-identity.js";
import type { Preset, PresetDocument } from "../../src/presets/types.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { API_SCOPE, manualClock, PRESET, rejection, startTestIdp } from "../support/engine-fixtures.js";

let idp: TestIdp;
let dir: string;

beforeAll(async () => {
  idp = await startTestIdp();
  dir = mkdtempSync(join(tmpdir(), "engine-machine-"));
});
afterAll(async () => {
  await idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

function preset(patch: Partial<PresetDocument> = {}): Preset {
  return applyDefaults({
    id: PRESET,
    name: "Haiilo AI",
    oidc: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      scopes: ["openid", "profile", "email", "offline_access", API_SCOPE],
    },
    ...patch,
  });
}

const settingsOf = (p: Preset, clientId: string): OidcSettings => ({
  issuer: p.oidc.issuer as string,
  clientId,
  scopes: p.oidc.scopes,
  audience: p.oidc.audience,
  audienceParam: p.oidc.audienceParam,
});

let files = 0;
function file(content: string): string {
  const path = join(dir, `credential-${++files}`);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** The grant a CI job with only `env` set gets, and the token's verified claims. */
async function grantFor(
  env: NodeJS.ProcessEnv,
  p = preset(),
  fetch?: FetchLike,
): Promise<{ tokens: TokenSet; claims: Record<string, unknown> }> {
  const identity = machineIdentityFromEnv(p, env, true);
  if (!identity) throw new Error("no machine identity in the environment");
  const tokens = await machineGrant(settingsOf(p, identity.clientId), identity, fetch ? { fetch } : {});
  const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(idp.jwksUri)), {
    issuer: idp.issuer,
    audience: idp.audience,
  });
  return { tokens, claims: payload };
}

describe("machine identities from the environment", () => {
  it("OPENCODE_OIDC_CLIENT_SECRET (+ _CLIENT_ID): client credentials with client_secret_basic, the API scope only", async () => {
    const { secretBasic } = idp.machine;
    const before = idp.counts.clientCredentialsGrant;
    const { tokens, claims } = await grantFor({
      OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId,
      OPENCODE_OIDC_CLIENT_SECRET: secretBasic.clientSecret,
    });
    expect(claims).toMatchObject({ client_id: secretBasic.clientId, scope: API_SCOPE });
    expect(tokens.refreshToken).toBeUndefined();
    expect(idp.counts.clientCredentialsGrant).toBe(before + 1);
  });

  it("client_secret_basic sends the secret in the Authorization header; client_secret_post (when the preset says so) in the body", async () => {
    const sent: Array<{ authorization: string | null; body: string }> = [];
    const recording: FetchLike = async (input, init) => {
      if (String(input).endsWith("/token"))
        sent.push({
          authorization: new Headers(init?.headers).get("authorization"),
          body: String(init?.body),
        });
      return fetch(input, init);
    };
    const { secretPost, secretBasic } = idp.machine;
    await grantFor(
      {
        OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId,
        OPENCODE_OIDC_CLIENT_SECRET: secretBasic.clientSecret,
      },
      preset(),
      recording,
    );
    const post = preset({ auth: { machine: { clientSecretMethod: "client_secret_post" } } });
    const { claims } = await grantFor(
      { OPENCODE_OIDC_CLIENT_ID: secretPost.clientId, OPENCODE_OIDC_CLIENT_SECRET: secretPost.clientSecret },
      post,
      recording,
    );
    expect(claims.client_id).toBe(secretPost.clientId);
    expect(sent[0]?.authorization).toMatch(/^Basic /);
    expect(sent[0]?.body).not.toContain("client_secret");
    expect(sent[1]?.authorization).toBeNull();
    expect(new URLSearchParams(sent[1]?.body).get("client_secret")).toBe(secretPost.clientSecret);
  });

  it("OPENCODE_OIDC_PRIVATE_KEY_FILE: private_key_jwt with a PEM key, and with a JWK", async () => {
    const { privateKeyJwt } = idp.machine;
    for (const content of [privateKeyJwt.privateKeyPem, JSON.stringify(privateKeyJwt.privateJwk)]) {
      const { claims } = await grantFor({
        OPENCODE_OIDC_CLIENT_ID: privateKeyJwt.clientId,
        OPENCODE_OIDC_PRIVATE_KEY_FILE: file(content),
      });
      expect(claims.client_id).toBe(privateKeyJwt.clientId);
    }
  });

  it("OPENCODE_OIDC_CLIENT_ASSERTION_FILE is read at every grant: a rotated assertion is used, a reused one is refused", async () => {
    const { assertion } = idp.machine;
    const path = file(await assertion.mint());
    const env = { OPENCODE_OIDC_CLIENT_ID: assertion.clientId, OPENCODE_OIDC_CLIENT_ASSERTION_FILE: path };
    expect((await grantFor(env)).claims.client_id).toBe(assertion.clientId);
    // oidc-provider refuses a replayed assertion (its jti): the error names the variable.
    const replay = await rejection(grantFor(env));
    expect(replay.code).toBe(ErrorCode.MACHINE_IDENTITY_REJECTED);
    expect(replay.message).toContain("OPENCODE_OIDC_CLIENT_ASSERTION_FILE");
    // The platform writes a new one into the same file (as GitHub's or Kubernetes' token rotation does).
    writeFileSync(path, await assertion.mint());
    expect((await grantFor(env)).claims.client_id).toBe(assertion.clientId);
  });

  it("OPENCODE_OIDC_SUBJECT_TOKEN_FILE: RFC 8693 token exchange, the subject carried over, the client the exchanging one", async () => {
    const { exchange } = idp.machine;
    const before = idp.counts.tokenExchangeGrant;
    const { claims } = await grantFor({
      OPENCODE_OIDC_CLIENT_ID: exchange.clientId,
      OPENCODE_OIDC_SUBJECT_TOKEN_FILE: file(
        await exchange.mintSubjectToken({ sub: "repo:acme/app:ref:refs/heads/main" }),
      ),
    });
    expect(claims).toMatchObject({
      sub: "repo:acme/app:ref:refs/heads/main",
      client_id: exchange.clientId,
      scope: API_SCOPE,
    });
    expect(idp.counts.tokenExchangeGrant).toBe(before + 1);
    // An untrusted subject token (signed by nobody the IdP knows) is refused with the variable named.
    const forged = `${(await exchange.mintSubjectToken()).split(".").slice(0, 2).join(".")}.AAAA`;
    const error = await rejection(
      grantFor({
        OPENCODE_OIDC_CLIENT_ID: exchange.clientId,
        OPENCODE_OIDC_SUBJECT_TOKEN_FILE: file(forged),
      }),
    );
    expect(error.code).toBe(ErrorCode.MACHINE_IDENTITY_REJECTED);
    expect(error.message).toContain("OPENCODE_OIDC_SUBJECT_TOKEN_FILE");
    expect(error.message).toContain("invalid_grant");
    expect(error.message).not.toContain(forged);
  });

  it("OPENCODE_OIDC_SCOPES replaces the preset's API scopes", async () => {
    const { secretBasic } = idp.machine;
    const identity = machineIdentityFromEnv(
      preset(),
      {
        OPENCODE_OIDC_CLIENT_ID: secretBasic.clientId,
        OPENCODE_OIDC_CLIENT_SECRET: "x",
        OPENCODE_OIDC_SCOPES: "a b,c",
      },
      true,
    );
    expect(identity?.scopes).toEqual(["a", "b", "c"]);
    expect(machineIdentityFromEnv(preset(), { OPENCODE_OIDC_CLIENT_SECRET: "x" }, true)?.scopes).toEqual([
      API_SCOPE,
    ]);
  });

  it("a wrong secret: MACHINE_IDENTITY_REJECTED naming the variable, never the secret", async () => {
    const wrong = "definitely-not-the-secret";
    const error = await rejection(
      grantFor({
        OPENCODE_OIDC_CLIENT_ID: idp.machine.secretBasic.clientId,
        OPENCODE_OIDC_CLIENT_SECRET: wrong,
      }),
    );
    expect(error.code).toBe(ErrorCode.MACHINE_IDENTITY_REJECTED);
    expect(error.message).toContain("OPENCODE_OIDC_CLIENT_SECRET");
    expect(error.message).toContain("invalid_client");
    expect(error.hint).toContain("OPENCODE_OIDC_CLIENT_SECRET");
    expect(`${error.message}${error.hint}`).not.toContain(wrong);
  });

  it("unusable input is MACHINE_IDENTITY_INVALID naming the variable: two credentials, a missing or empty file, a key that is none", async () => {
    const both = () =>
      machineIdentityFromEnv(
        preset(),
        { OPENCODE_OIDC_CLIENT_SECRET: "s", OPENCODE_OIDC_PRIVATE_KEY_FILE: "/k" },
        true,
      );
    expect(both).toThrow(/OPENCODE_OIDC_CLIENT_SECRET, OPENCODE_OIDC_PRIVATE_KEY_FILE/);
    const missing = await rejection(grantFor({ OPENCODE_OIDC_PRIVATE_KEY_FILE: join(dir, "absent.pem") }));
    expect(missing.code).toBe(ErrorCode.MACHINE_IDENTITY_INVALID);
    expect(missing.message).toMatch(/OPENCODE_OIDC_PRIVATE_KEY_FILE does not exist/);
    const empty = await rejection(grantFor({ OPENCODE_OIDC_CLIENT_ASSERTION_FILE: file("  \n") }));
    expect(empty.message).toMatch(/OPENCODE_OIDC_CLIENT_ASSERTION_FILE is empty/);
    const notAKey = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    const bad = await rejection(grantFor({ OPENCODE_OIDC_PRIVATE_KEY_FILE: file(notAKey) }));
    expect(bad.code).toBe(ErrorCode.MACHINE_IDENTITY_INVALID);
    expect(bad.message).toContain("OPENCODE_OIDC_PRIVATE_KEY_FILE");
    expect(bad.message).not.toContain("bm90IGEga2V5");
  });

  it("a preset names its own variables in its env map; other presets ignore OPENCODE_OIDC_*", async () => {
    const own = preset({
      env: { ACME_CI_SECRET: "/machine/clientSecret", ACME_CI_CLIENT: "/machine/clientId" },
    });
    const { secretBasic } = idp.machine;
    const env = { ACME_CI_CLIENT: secretBasic.clientId, ACME_CI_SECRET: secretBasic.clientSecret };
    expect(machineIdentityFromEnv(own, env, false)?.variables).toEqual(["ACME_CI_SECRET", "ACME_CI_CLIENT"]);
    expect((await grantFor(env, own)).claims.client_id).toBe(secretBasic.clientId);
    expect(machineIdentityFromEnv(own, { OPENCODE_OIDC_CLIENT_SECRET: "s" }, false)).toBeUndefined();
    expect(machineIdentityFromEnv(preset(), { OPENCODE_OIDC_CLIENT_SECRET: "s" }, true)?.kind).toBe(
      "client_secret",
    );
    // auth.machine.enabled: false ignores them.
    const off = preset({ auth: { machine: { enabled: false } } });
    expect(machineIdentityFromEnv(off, { OPENCODE_OIDC_CLIENT_SECRET: "s" }, true)).toBeUndefined();
  });
});

describe("machine tokens through the Session", () => {
  const session = (store: FileTokenStore, env: NodeJS.ProcessEnv, clock = manualClock()) => {
    const p = preset();
    const identity = machineIdentityFromEnv(p, env, true);
    if (!identity) throw new Error("no machine identity");
    const settings = settingsOf(p, identity.clientId);
    return new Session({
      key: { preset: PRESET, issuer: idp.issuer, clientId: identity.clientId, identity: identity.kind },
      settings,
      storage: store,
      skewSeconds: 300,
      clock,
      obtain: (ctx) => machineGrant(settings, identity, ctx),
    });
  };
  const secretEnv = () => ({
    OPENCODE_OIDC_CLIENT_ID: idp.machine.secretBasic.clientId,
    OPENCODE_OIDC_CLIENT_SECRET: idp.machine.secretBasic.clientSecret,
  });

  it("no login needed: the first request obtains a token, later ones use it from memory, expiry renews it", async () => {
    const store = new FileTokenStore(join(dir, "session-1", "tokens.json"));
    const clock = manualClock();
    const s = session(store, secretEnv(), clock);
    const before = idp.counts.clientCredentialsGrant;
    const first = await s.getAccessToken();
    expect(await s.getAccessToken()).toBe(first);
    expect(idp.counts.clientCredentialsGrant).toBe(before + 1);
    // The stored entry is the token, kept apart from a person's login, without any secret.
    const stored = JSON.stringify(await store.readAll());
    expect(stored).toContain('"identity":"client_secret"');
    expect(stored).not.toContain(idp.machine.secretBasic.clientSecret);
    clock.advance(3600_000 - 60_000); // inside the refresh skew
    const second = await s.getAccessToken();
    expect(second).not.toBe(first);
    expect(idp.counts.clientCredentialsGrant).toBe(before + 2);
    // A gateway 401 for the current token forces a new grant too.
    expect(await s.getAccessToken({ rejected: second })).not.toBe(second);
    expect(idp.counts.clientCredentialsGrant).toBe(before + 3);
  });

  it("four sessions on one store file at once (four processes): one grant", async () => {
    const file = join(dir, "session-4", "tokens.json");
    const sessions = Array.from({ length: 4 }, () => session(new FileTokenStore(file), secretEnv()));
    const before = idp.counts.clientCredentialsGrant;
    const tokens = await Promise.all(sessions.map((s) => s.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(idp.counts.clientCredentialsGrant).toBe(before + 1);
  });

  it("a rejected machine identity fails the request with its error and stores nothing", async () => {
    const store = new FileTokenStore(join(dir, "session-bad", "tokens.json"));
    const s = session(store, { ...secretEnv(), OPENCODE_OIDC_CLIENT_SECRET: "wrong-secret-value" });
    const error = await rejection(s.getAccessToken());
    expect(error.code).toBe(ErrorCode.MACHINE_IDENTITY_REJECTED);
    expect(Object.keys((await store.readAll()).sessions)).toEqual([]);
  });
});
