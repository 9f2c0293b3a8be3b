/**
 * Browser login (authorization code + PKCE S256, RFC 8252 loopback redirect) through the engine
 * against a real oidc-provider: sign-in on the IdP's pages, the redirect to the loopback listener,
 * state / iss / error answers, a second callback, a port in use, cancel, time limit, the paste
 * fallback; and the device flow with PKCE against an IdP that enforces it.
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/core/errors.js";
import { type BrowserLogin, startBrowserLogin } from "../../src/core/oauth/browser-login.js";
import { pollDeviceToken, startDeviceAuthorization } from "../../src/core/oauth/device.js";
import { decodeJwtClaims } from "../../src/core/oauth/tokens.js";
import { approveAuthorization, approveDevice } from "../../src/sandbox/approve.js";
import type { IdpOptions, TestIdp } from "../../src/sandbox/idp.js";
import { API_SCOPE, deferred, oidcSettings, rejection, startTestIdp } from "../support/engine-fixtures.js";
import { freePorts, holdPort, portIsFree } from "../support/ports.js";

let idp: TestIdp | undefined;
const pending: BrowserLogin[] = [];

afterEach(async () => {
  // Every login started here must have ended (its port freed) by the end of its test.
  await Promise.all(pending.splice(0).map((l) => l.result.catch(() => undefined)));
  await idp?.close();
  idp = undefined;
});

async function begin(
  idpOptions: IdpOptions = {},
  options: Partial<Parameters<typeof startBrowserLogin>[1]> = {},
) {
  idp = await startTestIdp(idpOptions);
  const login = await startBrowserLogin(oidcSettings(idp), {
    appName: "Haiilo AI",
    returnTo: "the terminal",
    ...options,
  });
  pending.push(login);
  return { idp, login, settings: oidcSettings(idp) };
}

const portOf = (uri: string) => Number(new URL(uri).port);

/** What the browser sees when it follows the IdP's redirect to the listener. */
async function land(url: string): Promise<{ status: number; html: string }> {
  const response = await fetch(url);
  return { status: response.status, html: await response.text() };
}

describe("browser login against oidc-provider", () => {
  it("sign-in → redirect to 127.0.0.1 → tokens; the ID token is checked, the access token verifies, the port is free again", async () => {
    const { idp, login } = await begin();
    const authorize = new URL(login.url);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("redirect_uri")).toBe(login.redirectUri);
    expect(login.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(authorize.searchParams.get("nonce")).toEqual(expect.any(String));

    const redirect = new URL(await approveAuthorization(login.url));
    expect(`${redirect.origin}${redirect.pathname}`).toBe(login.redirectUri);
    expect(redirect.searchParams.get("iss")).toBe(idp.issuer); // RFC 9207, checked by the engine
    const page = await land(redirect.href);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Logged in to Haiilo AI");
    expect(page.html).toContain("go back to the terminal");

    const tokens = await login.result;
    expect(await portIsFree(portOf(login.redirectUri))).toBe(true);
    const { payload } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: idp.audience,
    });
    expect(payload).toMatchObject({ sub: "alice", client_id: idp.clientId });
    expect(String(payload.scope).split(" ")).toContain(API_SCOPE);
    expect(decodeJwtClaims(tokens.idToken)).toMatchObject({ email: "alice@example.com" });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(idp.counts.authorizationCodeGrant).toBe(1);
  });

  it("an answer with another state: BROWSER_LOGIN_FAILED, no code exchange, the port is free", async () => {
    const { idp, login } = await begin();
    const redirect = new URL(await approveAuthorization(login.url));
    redirect.searchParams.set("state", "not-this-login");
    const page = await land(redirect.href);
    expect(page.status).toBe(400);
    expect(page.html).toContain("does not belong to this login");
    const error = await rejection(login.result);
    expect(error.code).toBe(ErrorCode.BROWSER_LOGIN_FAILED);
    expect(error.message).toMatch(/state does not match/);
    expect(idp.counts.authorizationCodeGrant).toBe(0);
    expect(await portIsFree(portOf(login.redirectUri))).toBe(true);
  });

  it("an answer from another issuer (RFC 9207 iss): BROWSER_LOGIN_FAILED", async () => {
    const { idp, login } = await begin();
    const redirect = new URL(await approveAuthorization(login.url));
    redirect.searchParams.set("iss", "https://evil.example");
    expect((await land(redirect.href)).status).toBe(400);
    const error = await rejection(login.result);
    expect(error.code).toBe(ErrorCode.BROWSER_LOGIN_FAILED);
    expect(error.message).toMatch(/another issuer/);
    expect(idp.counts.authorizationCodeGrant).toBe(0);
  });

  it("the user cancels at the IdP (error=access_denied): BROWSER_LOGIN_DENIED and a failure page", async () => {
    const { login } = await begin();
    const redirect = new URL(await approveAuthorization(login.url, { deny: true }));
    expect(redirect.searchParams.get("error")).toBe("access_denied");
    const page = await land(redirect.href);
    expect(page.status).toBe(400);
    expect(page.html).toContain("Login to Haiilo AI failed");
    expect(page.html).toContain("The browser login was denied");
    const error = await rejection(login.result);
    expect(error.code).toBe(ErrorCode.BROWSER_LOGIN_DENIED);
    expect(await portIsFree(portOf(login.redirectUri))).toBe(true);
  });

  it("a second callback while the first is being exchanged gets 409; the first one logs in", async () => {
    const exchanging = deferred();
    const { idp, login } = await begin({
      log: (line) => {
        if (line.startsWith("idp fault: delaying POST /token")) exchanging.resolve();
      },
    });
    const redirect = await approveAuthorization(login.url);
    idp.setFault({ delayMs: 400 });
    const first = land(redirect);
    await exchanging.promise;
    const second = await land(redirect);
    expect(second.status).toBe(409);
    expect(second.html).toContain("already has its answer");
    expect((await first).status).toBe(200);
    await login.result;
    expect(idp.counts.authorizationCodeGrant).toBe(1);
    // After the login the listener is gone: a third callback cannot even connect.
    await expect(fetch(redirect)).rejects.toThrow();
  });

  it("a request without an answer (a reload, a prefetch) is told where to go and does not end the login", async () => {
    const { login } = await begin();
    const page = await land(login.redirectUri);
    expect(page.status).toBe(400);
    expect(page.html).toContain("No login answer here");
    expect((await land(new URL("/favicon.ico", login.redirectUri).href)).status).toBe(404);
    await land(await approveAuthorization(login.url));
    await expect(login.result).resolves.toMatchObject({ accessToken: expect.any(String) });
  });

  it("the preset's ports are tried in order: a busy one is skipped; all busy is LOOPBACK_PORT_IN_USE naming them", async () => {
    const busy = await holdPort();
    const [free] = await freePorts(1);
    try {
      const { login } = await begin({}, { ports: [busy.port, free as number] });
      expect(portOf(login.redirectUri)).toBe(free);
      await land(await approveAuthorization(login.url));
      await login.result;

      const error = await rejection(
        startBrowserLogin(oidcSettings(idp as TestIdp), {
          appName: "Haiilo AI",
          returnTo: "the terminal",
          ports: [busy.port],
        }),
      );
      expect(error.code).toBe(ErrorCode.LOOPBACK_PORT_IN_USE);
      expect(error.message).toContain(String(busy.port));
    } finally {
      await busy.close();
    }
  });

  it("an IdP that matches redirect URIs exactly (Okta) works with the registered port", async () => {
    const [port] = await freePorts(1);
    const { idp, login } = await begin(
      { redirectUris: [`http://127.0.0.1:${port}/callback`] },
      { ports: [port as number] },
    );
    expect(login.redirectUri).toBe(`http://127.0.0.1:${port}/callback`);
    await land(await approveAuthorization(login.url));
    await login.result;
    expect(idp.counts.authorizationCodeGrant).toBe(1);
  });

  it("cancel (Ctrl-C) while waiting: ABORTED and the port is free at once", async () => {
    const controller = new AbortController();
    const { login } = await begin({}, { signal: controller.signal });
    expect(await portIsFree(portOf(login.redirectUri))).toBe(false);
    controller.abort();
    const error = await rejection(login.result);
    expect(error.code).toBe(ErrorCode.ABORTED);
    expect(await portIsFree(portOf(login.redirectUri))).toBe(true);
  });

  it("no answer within the time limit: BROWSER_LOGIN_TIMEOUT and the port is free", async () => {
    const { login } = await begin({}, { timeoutMs: 300 });
    const error = await rejection(login.result);
    expect(error.code).toBe(ErrorCode.BROWSER_LOGIN_TIMEOUT);
    expect(error.message).toMatch(/no answer within \d+ seconds/);
    expect(await portIsFree(portOf(login.redirectUri))).toBe(true);
  });
});

describe("the paste fallback (over SSH, no local browser)", () => {
  it("the redirected URL pasted back logs in, with no listener at all", async () => {
    const { idp, login } = await begin({}, { listen: false });
    expect(login.listening).toBe(false);
    // Nobody listens at the redirect URI: the browser would show a connection error there.
    await expect(fetch(login.redirectUri)).rejects.toThrow();
    const redirect = await approveAuthorization(login.url);
    await login.paste(redirect);
    const tokens = await login.result;
    expect(decodeJwtClaims(tokens.accessToken)).toMatchObject({ sub: "alice", client_id: idp.clientId });
  });

  it("just the code pasted back logs in too (PKCE binds it to this login)", async () => {
    const { login } = await begin({}, { listen: false });
    const code = new URL(await approveAuthorization(login.url)).searchParams.get("code") as string;
    await login.paste(`  ${code}\n`);
    await expect(login.result).resolves.toMatchObject({ accessToken: expect.any(String) });
  });

  it("text that is no answer is refused and the login goes on; a pasted answer of another login fails it", async () => {
    const { login } = await begin({}, { listen: false });
    const garbage = await rejection(login.paste("https://example.com/nothing-here"));
    expect(garbage.code).toBe(ErrorCode.BROWSER_LOGIN_FAILED);
    expect(garbage.message).toMatch(/no code/);
    await expect(rejection(login.paste("two words"))).resolves.toMatchObject({
      code: ErrorCode.BROWSER_LOGIN_FAILED,
    });
    const redirect = new URL(await approveAuthorization(login.url));
    redirect.searchParams.set("state", "someone-elses");
    await login.paste(redirect.href);
    const wrong = await rejection(login.result);
    expect(wrong.code).toBe(ErrorCode.BROWSER_LOGIN_FAILED);
    expect(wrong.message).toMatch(/state does not match/);
  });

  it("with a listener, the paste and the callback race: the first answer wins, the other is told so", async () => {
    const { login } = await begin();
    const redirect = await approveAuthorization(login.url);
    await login.paste(redirect);
    await login.result;
    // The listener closed with the pasted answer; the late browser redirect cannot connect.
    await expect(fetch(redirect)).rejects.toThrow();
  });
});

describe("device flow with PKCE (a Keycloak client that enforces it)", () => {
  it("without a code challenge the IdP refuses; with one (and the verifier on every poll) the login works", async () => {
    idp = await startTestIdp({ devicePkce: true });
    const settings = oidcSettings(idp);
    const refused = await rejection(startDeviceAuthorization(settings));
    expect(refused.code).toBe(ErrorCode.IDP_REJECTED);
    expect(refused.message).toMatch(/code_challenge/);

    const auth = await startDeviceAuthorization(settings, { pkce: true });
    expect(auth.codeVerifier).toEqual(expect.any(String));
    await approveDevice(auth.verificationUriComplete as string);
    const tokens = await pollDeviceToken(settings, auth, { sleep: async () => {} });
    expect(decodeJwtClaims(tokens.accessToken)).toMatchObject({ sub: "alice" });
  });

  it("a wrong verifier fails the poll: DEVICE_FLOW_FAILED", async () => {
    idp = await startTestIdp({ devicePkce: true });
    const settings = oidcSettings(idp);
    const auth = await startDeviceAuthorization(settings, { pkce: true });
    await approveDevice(auth.verificationUriComplete as string);
    const error = await rejection(
      pollDeviceToken(settings, { ...auth, codeVerifier: "x".repeat(43) }, { sleep: async () => {} }),
    );
    expect(error.code).toBe(ErrorCode.DEVICE_FLOW_FAILED);
    expect(error.message).toMatch(/invalid_grant/);
  });
});
