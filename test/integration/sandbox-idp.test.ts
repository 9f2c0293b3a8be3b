import { decodeJwt, decodeProtectedHeader } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveDevice } from "../../src/sandbox/approve.js";
import { startIdp, type TestIdp } from "../../src/sandbox/idp.js";

// The sandbox issuer is plain http on loopback; oauth4webapi refuses that unless told otherwise.
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const SCOPE = "openid profile email offline_access haiiloai:inference";

interface Session {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
}

async function discover(idp: TestIdp): Promise<Session> {
  const issuer = new URL(idp.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...insecure });
  const as = await oauth.processDiscoveryResponse(issuer, response);
  return { as, client: { client_id: idp.clientId } };
}

async function startDevice(s: Session, scope = SCOPE) {
  const response = await oauth.deviceAuthorizationRequest(s.as, s.client, oauth.None(), { scope }, insecure);
  return oauth.processDeviceAuthorizationResponse(s.as, s.client, response);
}

async function poll(s: Session, deviceCode: string) {
  const response = await oauth.deviceCodeGrantRequest(s.as, s.client, oauth.None(), deviceCode, insecure);
  return oauth.processDeviceCodeResponse(s.as, s.client, response);
}

async function refresh(s: Session, refreshToken: string) {
  const response = await oauth.refreshTokenGrantRequest(s.as, s.client, oauth.None(), refreshToken, insecure);
  return oauth.processRefreshTokenResponse(s.as, s.client, response);
}

/** The OAuth error code a rejected promise carries (oauth4webapi ResponseBodyError). */
async function oauthError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) return err.error;
    throw err;
  }
  throw new Error("expected an OAuth error response");
}

async function login(s: Session) {
  const device = await startDevice(s);
  if (!device.verification_uri_complete) throw new Error("no verification_uri_complete");
  await approveDevice(device.verification_uri_complete);
  return poll(s, device.device_code);
}

describe("sandbox IdP (oidc-provider, device flow)", () => {
  let idp: TestIdp;
  let s: Session;
  const logLines: string[] = [];

  beforeAll(async () => {
    idp = await startIdp({ scopes: ["haiiloai:inference"], log: (l) => logLines.push(l) });
    s = await discover(idp);
  });
  afterAll(() => idp.close());

  it("publishes a discovery document with the device-flow endpoints", () => {
    expect(s.as.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.as.device_authorization_endpoint).toBe(`${idp.issuer}/device/auth`);
    expect(s.as.token_endpoint).toBe(`${idp.issuer}/token`);
    expect(s.as.revocation_endpoint).toBe(`${idp.issuer}/token/revocation`);
    expect(s.as.jwks_uri).toBe(idp.jwksUri);
    expect(s.as.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:device_code");
    expect(s.as.scopes_supported).toEqual(expect.arrayContaining(SCOPE.split(" ")));
  });

  it("answers the device authorization with an interval and a complete verification URI", async () => {
    const device = await startDevice(s);
    // Some interval in whole seconds, and a code that lives for more than one poll (the values are
    // options, checked under "sandbox IdP options").
    expect(Number.isInteger(device.interval), `interval ${device.interval}`).toBe(true);
    expect(device.interval).toBeGreaterThan(0);
    expect(device.expires_in).toBeGreaterThan(device.interval as number);
    expect(device.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(device.verification_uri).toBe(`${idp.issuer}/device`);
    expect(device.verification_uri_complete).toContain(
      encodeURIComponent(device.user_code).replace("%2D", "-"),
    );
    expect(await oauthError(poll(s, device.device_code))).toBe("authorization_pending");
  });

  it("completes a device login approved through the real HTML pages", async () => {
    const before = { ...idp.counts };
    const tokens = await login(s);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.refresh_token).toBeTruthy();

    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ iss: idp.issuer, aud: idp.audience, sub: "alice", client_id: idp.clientId });
    expect(String(at.scope).split(" ")).toContain("haiiloai:inference");
    // The JWT's lifetime is the one the token response announces.
    expect((at.exp as number) - (at.iat as number)).toBe(tokens.expires_in);

    const id = oauth.getValidatedIdTokenClaims(tokens);
    expect(id).toMatchObject({
      sub: "alice",
      email: "alice@example.com",
      name: "Alice Example",
      aud: idp.clientId,
    });

    expect(idp.counts.deviceAuthorization - before.deviceAuthorization).toBe(1);
    expect(idp.counts.deviceCodeGrant - before.deviceCodeGrant).toBe(1);
    expect(logLines.join("\n")).not.toContain(tokens.access_token);
  });

  it("signs in another configured user", async () => {
    const other = await startIdp({ users: { bob: { email: "bob@example.com" } } });
    try {
      const os = await discover(other);
      const device = await startDevice(os, "openid email");
      await approveDevice(device.verification_uri_complete ?? "", { login: "bob" });
      const tokens = await poll(os, device.device_code);
      expect(decodeJwt(tokens.access_token).sub).toBe("bob");
      expect(tokens.refresh_token).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it("answers access_denied when the user aborts", async () => {
    const device = await startDevice(s);
    await approveDevice(device.verification_uri_complete ?? "", { deny: true });
    expect(await oauthError(poll(s, device.device_code))).toBe("access_denied");
  });

  it("ends with access_denied when an unknown user signs in", async () => {
    const device = await startDevice(s);
    await expect(approveDevice(device.verification_uri_complete ?? "", { login: "nobody" })).rejects.toThrow(
      /interrupted/,
    );
    expect(await oauthError(poll(s, device.device_code))).toBe("access_denied");
  });

  it("names the failing step when a code cannot be approved", async () => {
    const device = await startDevice(s);
    await approveDevice(device.verification_uri_complete ?? "");
    await expect(approveDevice(device.verification_uri_complete ?? "")).rejects.toThrow(
      /^approveDevice: submit user code: .*code you entered is incorrect/,
    );
    expect((await poll(s, device.device_code)).access_token).toBeTruthy();
  });

  it("refreshes, and a rotated-out refresh token fails with invalid_grant", async () => {
    const first = await login(s);
    const before = { ...idp.counts };
    const second = await refresh(s, first.refresh_token ?? "");
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.access_token)).toMatchObject({
      iss: idp.issuer,
      aud: idp.audience,
      sub: "alice",
    });

    expect(await oauthError(refresh(s, first.refresh_token ?? ""))).toBe("invalid_grant");
    // Reuse of a rotated-out token revokes the whole grant, so the newest one is dead too.
    expect(await oauthError(refresh(s, second.refresh_token ?? ""))).toBe("invalid_grant");

    expect(idp.counts.refreshGrant - before.refreshGrant).toBe(3);
    expect(idp.counts.refreshGrantFailures - before.refreshGrantFailures).toBe(2);
  });

  it("revokes a refresh token", async () => {
    const tokens = await login(s);
    const before = idp.counts.revocation;
    const response = await oauth.revocationRequest(
      s.as,
      s.client,
      oauth.None(),
      tokens.refresh_token ?? "",
      insecure,
    );
    await oauth.processRevocationResponse(response);
    expect(idp.counts.revocation - before).toBe(1);
    expect(await oauthError(refresh(s, tokens.refresh_token ?? ""))).toBe("invalid_grant");
  });

  it("injects token-endpoint faults and clears them", async () => {
    const device = await startDevice(s);
    idp.setFault({ status: 500 });
    try {
      const response = await oauth.deviceCodeGrantRequest(
        s.as,
        s.client,
        oauth.None(),
        device.device_code,
        insecure,
      );
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ error: "server_error" });
      // Other endpoints are untouched unless endpoints: "all".
      expect((await fetch(`${idp.issuer}/jwks`)).status).toBe(200);
      idp.setFault({ status: 503, body: "down", endpoints: "all" });
      expect((await fetch(`${idp.issuer}/jwks`)).status).toBe(503);
    } finally {
      idp.setFault(null);
    }
    expect(await oauthError(poll(s, device.device_code))).toBe("authorization_pending");
  });

  it("delays token responses on request", async () => {
    idp.setFault({ delayMs: 5_000 });
    try {
      const slow = fetch(`${idp.issuer}/token`, { method: "POST", signal: AbortSignal.timeout(50) });
      await expect(slow).rejects.toThrow(/aborted|timeout/i);
      expect((await fetch(`${idp.issuer}/jwks`)).status).toBe(200);
    } finally {
      idp.setFault(null);
    }
  });

  it("can be paused (connection refused) and resumed on the same port", async () => {
    await idp.pause();
    await expect(fetch(`${idp.issuer}/jwks`)).rejects.toThrow();
    await idp.resume();
    expect((await fetch(`${idp.issuer}/jwks`)).status).toBe(200);
  });

  it("mints access tokens verifiable with its JWKS", async () => {
    const token = await idp.mintAccessToken({ sub: "carol" }, { expiresInSeconds: -10 });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: idp.issuer, aud: idp.audience, sub: "carol" });
    expect(claims.exp).toBeLessThan(Date.now() / 1000);
    const jwks = (await (await fetch(idp.jwksUri)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(token).kid);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  });
});

describe("sandbox IdP options", () => {
  it("answers slow_down when polled faster than the interval", async () => {
    const idp = await startIdp({ enforceSlowDown: true, deviceInterval: 30 });
    try {
      const s = await discover(idp);
      const device = await startDevice(s);
      expect(device.interval).toBe(30);
      expect(await oauthError(poll(s, device.device_code))).toBe("authorization_pending");
      expect(await oauthError(poll(s, device.device_code))).toBe("slow_down");
      // Approving through the HTML pages is not a poll and does not disturb the rate check.
      await approveDevice(device.verification_uri_complete ?? "");
      expect(await oauthError(poll(s, device.device_code))).toBe("slow_down");
      expect(idp.counts.deviceCodeGrant).toBe(3);
    } finally {
      await idp.close();
    }
  });

  it("lets a client that respects the interval finish", async () => {
    // A 1 ms interval: the approval between the two polls takes longer than that.
    const idp = await startIdp({ enforceSlowDown: true, deviceInterval: 0.001 });
    try {
      const s = await discover(idp);
      const device = await startDevice(s);
      expect(await oauthError(poll(s, device.device_code))).toBe("authorization_pending");
      await approveDevice(device.verification_uri_complete ?? "");
      expect((await poll(s, device.device_code)).access_token).toBeTruthy();
    } finally {
      await idp.close();
    }
  });

  it("issues no refresh token when issueRefreshToken is false, and honours custom audience/TTL/device code lifetime", async () => {
    const idp = await startIdp({
      issueRefreshToken: false,
      audience: "https://gw.example",
      accessTokenTtlSeconds: 120,
      deviceCodeTtlSeconds: 90,
    });
    try {
      const s = await discover(idp);
      expect((await startDevice(s)).expires_in).toBe(90);
      const tokens = await login(s);
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.expires_in).toBe(120);
      expect(decodeJwt(tokens.access_token).aud).toBe("https://gw.example");
    } finally {
      await idp.close();
    }
  });

  it("keeps refresh tokens stable when rotation is off", async () => {
    const idp = await startIdp({ rotateRefreshTokens: false });
    try {
      const s = await discover(idp);
      const first = await login(s);
      const second = await refresh(s, first.refresh_token ?? "");
      expect(second.refresh_token ?? first.refresh_token).toBe(first.refresh_token);
      // The same refresh token still works after it was used.
      expect((await refresh(s, first.refresh_token ?? "")).access_token).not.toBe(second.access_token);
    } finally {
      await idp.close();
    }
  });
});
