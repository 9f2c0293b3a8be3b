/**
 * Device login (RFC 8628) through the engine against a real oidc-provider: approve, deny, expiry,
 * slow_down, pending, cancel, and never polling after success.
 */
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import {
  type DeviceAuthorization,
  pollDeviceToken,
  startDeviceAuthorization,
} from "../../src/core/oauth/device.js";
import { refreshTokens } from "../../src/core/oauth/refresh.js";
import { decodeJwtClaims } from "../../src/core/oauth/tokens.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import type { IdpOptions, TestIdp } from "../../src/sandbox/idp.js";
import {
  API_SCOPE,
  deferred,
  oidcSettings,
  rejection,
  sessionFixture,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { sessionStoreId } from "../support/store-file.js";

type Outcome = "pending" | "slow_down" | "transient" | "success";

let idp: TestIdp | undefined;
let home: TempHome | undefined;

afterEach(async () => {
  await idp?.close();
  home?.cleanup();
  idp = undefined;
  home = undefined;
});

async function begin(
  options: IdpOptions = {},
): Promise<{ idp: TestIdp; auth: DeviceAuthorization; url: string }> {
  idp = await startTestIdp(options);
  const auth = await startDeviceAuthorization(oidcSettings(idp));
  if (!auth.verificationUriComplete) throw new Error("no verification_uri_complete");
  return { idp, auth, url: auth.verificationUriComplete };
}

describe("device login against oidc-provider", () => {
  it("approve: the tokens are stored and the access token is a JWT for the gateway's audience from this issuer", async () => {
    const { idp, auth, url } = await begin();
    expect(auth.intervalSeconds).toBe(1);
    const settings = oidcSettings(idp);
    const outcomes: Outcome[] = [];
    const login = pollDeviceToken(settings, auth, { onPoll: (o) => outcomes.push(o) });
    await approveDevice(url);
    const tokens = await login;

    home = tempHome();
    const { session, key } = sessionFixture(idp, home);
    await session.save(tokens);
    const stored = JSON.parse(readFileSync(home.tokenFile, "utf8"));
    expect(stored.sessions[sessionStoreId(key)]).toMatchObject({
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      idToken: tokens.idToken,
      issuer: idp.issuer,
      clientId: idp.clientId,
    });
    expect(tokens.refreshToken).toEqual(expect.any(String));

    expect(decodeProtectedHeader(tokens.accessToken)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: idp.audience,
    });
    expect(payload).toMatchObject({ sub: "alice", client_id: idp.clientId });
    expect(String(payload.scope).split(" ")).toContain(API_SCOPE);
    expect(decodeJwtClaims(tokens.idToken)).toMatchObject({ email: "alice@example.com" });
    expect(outcomes.at(-1)).toBe("success");
    expect(idp.counts.deviceCodeGrant).toBe(outcomes.length);
  });

  it("deny: DEVICE_ACCESS_DENIED", async () => {
    const { idp, auth, url } = await begin();
    await approveDevice(url, { deny: true });
    const error = await rejection(pollDeviceToken(oidcSettings(idp), auth, { sleep: async () => {} }));
    expect(error.code).toBe(ErrorCode.DEVICE_ACCESS_DENIED);
    expect(error.hint).toMatch(/again/);
    expect(idp.counts.deviceCodeGrant).toBe(1);
  });

  it("expiry, seen by the client's deadline: DEVICE_CODE_EXPIRED, with no poll after the deadline", async () => {
    const { idp, auth } = await begin({ deviceCodeTtlSeconds: 2 });
    const outcomes: Outcome[] = [];
    const started = Date.now();
    const error = await rejection(
      pollDeviceToken(oidcSettings(idp), auth, { onPoll: (o) => outcomes.push(o) }),
    );
    expect(error.code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
    expect(Date.now()).toBeGreaterThanOrEqual(auth.expiresAt);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcomes.every((o) => o === "pending")).toBe(true);
    expect(idp.counts.deviceCodeGrant).toBe(outcomes.length);
  });

  it("expiry, answered by the IdP (expired_token) while the client still thinks the code is valid: DEVICE_CODE_EXPIRED", async () => {
    const { idp, auth } = await begin({ deviceCodeTtlSeconds: 1 });
    const outcomes: Outcome[] = [];
    const lenient = { ...auth, expiresAt: Date.now() + 60_000 };
    const error = await rejection(
      pollDeviceToken(oidcSettings(idp), lenient, { onPoll: (o) => outcomes.push(o) }),
    );
    expect(error.code).toBe(ErrorCode.DEVICE_CODE_EXPIRED);
    // The last poll got expired_token (it reports no outcome), every one before it was pending.
    expect(idp.counts.deviceCodeGrant).toBe(outcomes.length + 1);
    expect(outcomes.every((o) => o === "pending")).toBe(true);
  });

  it("slow_down: every later poll waits 5 s longer (recorded by a fake sleep)", async () => {
    // The IdP enforces its 1 s interval; the fake sleep returns at once, so the client polls too fast.
    const { idp, auth } = await begin({ enforceSlowDown: true });
    const controller = new AbortController();
    const waits: number[] = [];
    const outcomes: Array<[Outcome, number]> = [];
    const sleep = async (ms: number, signal?: AbortSignal) => {
      waits.push(ms);
      if (waits.length === 4) controller.abort();
      signal?.throwIfAborted();
    };
    const error = await rejection(
      pollDeviceToken(oidcSettings(idp), auth, {
        sleep,
        signal: controller.signal,
        onPoll: (o, i) => outcomes.push([o, i]),
      }),
    );
    expect(error.code).toBe(ErrorCode.ABORTED);
    expect(outcomes).toEqual([
      ["pending", 1],
      ["slow_down", 6],
      ["slow_down", 11],
    ]);
    expect(waits).toEqual([1000, 1000, 6000, 11000]);
    expect(idp.counts.deviceCodeGrant).toBe(3);
  });

  it("slow_down, then the login still completes once the client honours the longer interval", async () => {
    const { idp, auth, url } = await begin({ enforceSlowDown: true });
    // Time runs 5x faster for the client: 1 s asked = 200 ms real (too fast for the IdP), 6 s = 1.2 s (fine).
    const waits: number[] = [];
    let approving: Promise<void> | undefined;
    const sleep = async (ms: number) => {
      waits.push(ms);
      await delay(ms / 5);
      await approving;
    };
    const outcomes: Array<[Outcome, number]> = [];
    const tokens = await pollDeviceToken(oidcSettings(idp), auth, {
      sleep,
      onPoll: (o, i) => {
        outcomes.push([o, i]);
        if (o === "slow_down") approving ??= approveDevice(url);
      },
    });
    expect(tokens.accessToken).toMatch(/^eyJ/);
    expect(outcomes).toEqual([
      ["pending", 1],
      ["slow_down", 6],
      ["success", 6],
    ]);
    expect(waits).toEqual([1000, 1000, 6000]);
  });

  it("pending: several authorization_pending answers, then success; no poll after success (the grant stays alive)", async () => {
    const { idp, auth, url } = await begin();
    const settings = oidcSettings(idp);
    const outcomes: Outcome[] = [];
    const approved = deferred();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      if (outcomes.length >= 3) await approved.promise;
    };
    const tokens = await pollDeviceToken(settings, auth, {
      sleep,
      onPoll: (o) => {
        outcomes.push(o);
        if (outcomes.length === 3) approveDevice(url).then(approved.resolve);
      },
    });
    expect(outcomes).toEqual(["pending", "pending", "pending", "success"]);
    expect(waits).toEqual([1000, 1000, 1000, 1000]);
    expect(idp.counts.deviceCodeGrant).toBe(outcomes.length);
    // A poll after success would make oidc-provider revoke the grant, refresh token included.
    const refreshed = await refreshTokens(settings, tokens);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(idp.counts.deviceCodeGrant).toBe(outcomes.length);
  });

  it("cancel: aborting the signal while waiting ends the login with ABORTED at once, and polling stops", async () => {
    const { idp, auth } = await begin();
    const controller = new AbortController();
    let abortedAt = 0;
    const outcomes: Outcome[] = [];
    const error = await rejection(
      pollDeviceToken(oidcSettings(idp), auth, {
        signal: controller.signal,
        onPoll: (o) => {
          outcomes.push(o);
          abortedAt = performance.now();
          controller.abort();
        },
      }),
    );
    expect(error.code).toBe(ErrorCode.ABORTED);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(outcomes).toEqual(["pending"]);
    expect(idp.counts.deviceCodeGrant).toBe(1);
  });

  it("cancel: a signal aborted before the first poll sends no poll at all", async () => {
    const { idp, auth } = await begin();
    const error = await rejection(pollDeviceToken(oidcSettings(idp), auth, { signal: AbortSignal.abort() }));
    expect(error.code).toBe(ErrorCode.ABORTED);
    expect(idp.counts.deviceCodeGrant).toBe(0);
  });
});
