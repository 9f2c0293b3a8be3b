/**
 * Sessions against a real oidc-provider: refresh before expiry, answers from memory, rotation and
 * reuse detection, single-flight refresh, IdP outages and 5xx, logins without a refresh token, logout.
 */
import { rmSync, writeFileSync } from "node:fs";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { REFRESH_RETRY } from "../../src/core/defaults.js";
import { ErrorCode } from "../../src/core/errors.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import type { TokenSet } from "../../src/core/ports.js";
import { Session } from "../../src/core/session.js";
import type { IdpOptions, TestIdp } from "../../src/sandbox/idp.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import {
  countingStorage,
  defaultBackoff,
  oidcSettings,
  quickLogin,
  recordingFetch,
  rejection,
  type SessionFixture,
  type SessionFixtureOptions,
  sessionFixture,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { report } from "../support/measure.js";

let idp: TestIdp | undefined;
let home: TempHome | undefined;

afterEach(async () => {
  idp?.setFault(null);
  await idp?.close();
  home?.cleanup();
  idp = undefined;
  home = undefined;
});

/** An IdP, a temp home and a Session that has just stored a fresh device login. */
async function loggedIn(
  idpOptions: IdpOptions = {},
  fixtureOptions: SessionFixtureOptions = {},
): Promise<SessionFixture & { idp: TestIdp; home: TempHome; tokens: TokenSet }> {
  idp = await startTestIdp(idpOptions);
  home = tempHome();
  const tokens = await quickLogin(idp);
  const fixture = sessionFixture(idp, home, fixtureOptions);
  await fixture.session.save(tokens);
  return { ...fixture, idp, home, tokens };
}

describe("session refresh", () => {
  it("refreshes a token that is inside the skew window before it expires", async () => {
    // 60 s tokens, skew 300 s capped at half the lifetime: fresh for 30 s, refreshed in the last 30 s.
    const { idp, session, clock, tokens, store, key } = await loggedIn({ accessTokenTtlSeconds: 60 });
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(0);

    clock.advance(40_000);
    const next = await session.getAccessToken();
    expect(next).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    expect(session.refreshCalls).toBe(1);
    await jwtVerify(next, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: idp.audience,
    });
    const stored = await store.read(key);
    expect(stored?.accessToken).toBe(next);
    expect(stored?.expiresAt).toBeGreaterThan(clock.now() + 55_000);
    // The new token is fresh: no second refresh.
    expect(await session.getAccessToken()).toBe(next);
    expect(idp.counts.refreshGrant).toBe(1);
  });

  it("answers from memory without any storage call while the token is fresh", async () => {
    let counted: ReturnType<typeof countingStorage> | undefined;
    const { session, tokens, home } = await loggedIn(
      {},
      { storage: (store) => (counted = countingStorage(store)) },
    );
    const calls = () => ({ ...counted?.calls });
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    const before = calls();
    writeFileSync(home.tokenFile, "garbage that is not JSON");
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    rmSync(home.tokenFile);
    for (let i = 0; i < 10; i++) expect(await session.getAccessToken()).toBe(tokens.accessToken);
    expect(calls()).toEqual(before);
    expect(before.transact).toBe(1); // the save of the login, nothing since
  });

  it("rotation: replaying a rotated-out refresh token ends the session; the IdP revokes the whole family", async () => {
    const { idp, session, clock, tokens, store, key } = await loggedIn({
      rotateRefreshTokens: true,
      accessTokenTtlSeconds: 60,
    });
    clock.advance(40_000);
    const refreshed = await session.getAccessToken();
    const rotated = await store.read(key);
    expect(rotated?.refreshToken).toEqual(expect.any(String));
    expect(rotated?.refreshToken).not.toBe(tokens.refreshToken);
    expect(idp.counts.refreshGrantFailures).toBe(0);

    // Someone other than the engine replays the old refresh token (what a racing peer without a lock does).
    const replay = await rejection(refreshTokens(oidcSettings(idp), tokens));
    expect(replay.code).toBe(ErrorCode.SESSION_ENDED);

    // The IdP has revoked the family: the engine's current refresh token is dead too.
    clock.advance(61_000);
    const ended = await rejection(session.getAccessToken());
    expect(ended.code).toBe(ErrorCode.SESSION_ENDED);
    expect(ended.hint).toMatch(/log in again/i);
    expect(idp.counts.refreshGrantFailures).toBe(2);
    expect(await store.read(key)).toBeUndefined();
    expect(refreshed).not.toBe(tokens.accessToken);
  });

  it("100 concurrent callers on an expiring token cause exactly one refresh grant (rotation on)", async () => {
    const { idp, session, clock, tokens } = await loggedIn({
      rotateRefreshTokens: true,
      accessTokenTtlSeconds: 60,
    });
    clock.advance(40_000);
    const results = await Promise.all(Array.from({ length: 100 }, () => session.getAccessToken()));
    report("100 concurrent callers, one Session: refresh grants at the IdP", idp.counts.refreshGrant);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    expect(session.refreshCalls).toBe(1);
  });

  it("10 Session instances x 10 callers sharing one store file cause exactly one refresh grant", async () => {
    const { idp, tokens, home, clock } = await loggedIn({
      rotateRefreshTokens: true,
      accessTokenTtlSeconds: 60,
    });
    clock.advance(40_000);
    const sessions = Array.from({ length: 10 }, () => sessionFixture(idp, home, { clock }).session);
    const results = await Promise.all(
      sessions.flatMap((s) => Array.from({ length: 10 }, () => s.getAccessToken())),
    );
    report("10 Sessions x 10 callers on one store file: refresh grants at the IdP", idp.counts.refreshGrant);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
    expect(sessions.reduce((n, s) => n + s.refreshCalls, 0)).toBe(1);
  });
});

describe("session and IdP trouble", () => {
  it("IdP going down during a refresh: IDP_UNAVAILABLE with a clear message, the session is kept, and it refreshes after resume", async () => {
    // The token has expired, so there is nothing to fall back on. The IdP holds the refresh request and dies.
    const { idp, session, clock, tokens, store, key, retrySleeps } = await loggedIn({
      accessTokenTtlSeconds: 60,
      log: (line) => {
        if (line.includes("delaying POST /token")) void idp?.pause();
      },
    });
    idp.setFault({ delayMs: 30_000 });
    clock.advance(61_000);
    const error = await rejection(session.getAccessToken());
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toContain(`Refreshing the access token at ${idp.issuer} failed`);
    expect(error.message).toMatch(/login is kept/);
    expect(session.refreshCalls).toBe(REFRESH_RETRY.attempts);
    expect(retrySleeps).toEqual(defaultBackoff());
    expect((await store.read(key))?.refreshToken).toBe(tokens.refreshToken);

    idp.setFault(null);
    await idp.resume();
    const next = await session.getAccessToken();
    expect(next).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(session.refreshCalls).toBe(REFRESH_RETRY.attempts + 1);
  });

  it("IdP answering 500: IDP_UNAVAILABLE after a bounded number of attempts, session kept", async () => {
    const fetch = recordingFetch();
    const { idp, session, clock, tokens, store, key, retrySleeps } = await loggedIn(
      { accessTokenTtlSeconds: 60 },
      { fetch },
    );
    idp.setFault({ status: 500 });
    clock.advance(61_000);
    const error = await rejection(session.getAccessToken());
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).toContain(idp.issuer);
    const tokenPosts = () =>
      fetch.requests.filter((r) => r.method === "POST" && r.url.endsWith("/token")).length;
    expect(tokenPosts()).toBe(REFRESH_RETRY.attempts);
    expect(session.refreshCalls).toBe(REFRESH_RETRY.attempts);
    expect(retrySleeps).toEqual(defaultBackoff());
    expect((await store.read(key))?.refreshToken).toBe(tokens.refreshToken);

    // Each later call is bounded the same way, and the session survives until the IdP recovers.
    await rejection(session.getAccessToken());
    expect(tokenPosts()).toBe(2 * REFRESH_RETRY.attempts);
    idp.setFault(null);
    expect(await session.getAccessToken()).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
  });

  it("a still-valid token inside the skew window with the IdP down: the current token, no throw, then a cooldown", async () => {
    const { idp, session, clock, tokens, store, key, logger } = await loggedIn({
      accessTokenTtlSeconds: 120,
    });
    await idp.pause();
    clock.advance(70_000); // inside the 60 s skew window, 50 s left
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    // The token still works, so one short attempt only: the request is not held up by retries.
    expect(session.refreshCalls).toBe(1);
    expect(logger.lines.some((l) => l.level === "warn" && /still-valid/.test(l.message))).toBe(true);
    // Within the cooldown no new attempt is made, up to its last second, even with the IdP back.
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    expect(session.refreshCalls).toBe(1);
    expect((await store.read(key))?.accessToken).toBe(tokens.accessToken);
    await idp.resume();
    clock.advance(REFRESH_RETRY.cooldownMs - 1_000);
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    expect(session.refreshCalls).toBe(1);

    clock.advance(2_000); // past the cooldown, still before expiry
    const next = await session.getAccessToken();
    expect(next).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
  });
});

describe("logins without a refresh token, and logout", () => {
  it("a login without a refresh token is accepted and stored; after expiry: SESSION_ENDED with a hint to log in again", async () => {
    const { idp, session, clock, tokens, store, key } = await loggedIn({
      issueRefreshToken: false,
      accessTokenTtlSeconds: 60,
    });
    expect(tokens.refreshToken).toBeUndefined();
    const stored = await store.read(key);
    expect(stored?.accessToken).toBe(tokens.accessToken);
    expect(stored?.refreshToken).toBeUndefined();
    expect(await session.getAccessToken()).toBe(tokens.accessToken);

    clock.advance(61_000);
    const error = await rejection(session.getAccessToken());
    expect(error.code).toBe(ErrorCode.SESSION_ENDED);
    expect(error.hint).toMatch(/log in again/i);
    expect(idp.counts.refreshGrant).toBe(0);
  });

  it("a login without a refresh token keeps working until the access token really expires (not only until the skew window)", async () => {
    const { session, clock, tokens, store, key } = await loggedIn({
      issueRefreshToken: false,
      accessTokenTtlSeconds: 60,
    });
    clock.advance(40_000); // inside the 30 s skew window, 20 s left: nothing can refresh it, but it is still good
    expect(await session.getAccessToken()).toBe(tokens.accessToken);
    expect((await store.read(key))?.accessToken).toBe(tokens.accessToken);
  });

  it("logout revokes at the IdP and deletes the entry; the refresh token is dead afterwards", async () => {
    const { idp, session, tokens, store, key, home } = await loggedIn();
    // Another login in the same store must survive.
    const other = new Session({
      key: { ...key, preset: "other" },
      settings: oidcSettings(idp),
      storage: store,
      skewSeconds: 300,
    });
    await other.save(tokens);

    const result = await session.logout();
    expect(result).toMatchObject({ revoked: true, hadSession: true });
    expect(idp.counts.revocation).toBe(1);
    expect(await store.read(key)).toBeUndefined();
    expect((await new FileTokenStore(home.tokenFile).read({ ...key, preset: "other" }))?.accessToken).toBe(
      tokens.accessToken,
    );
    expect((await rejection(session.getAccessToken())).code).toBe(ErrorCode.NOT_LOGGED_IN);
    expect((await rejection(refreshTokens(oidcSettings(idp), tokens))).code).toBe(ErrorCode.SESSION_ENDED);
    // Logging out again is harmless and revokes nothing.
    expect(await session.logout()).toMatchObject({ hadSession: false, revoked: false });
    expect(idp.counts.revocation).toBe(1);
  });
});
