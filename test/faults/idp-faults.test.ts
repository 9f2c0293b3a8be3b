/**
 * Faults at the identity provider: down (port closed), slow (longer than the request timeout),
 * answering 500 — during a refresh and when a device login starts. What the user sees: the session
 * is kept, the error is IDP_UNAVAILABLE with a message that says what happened (and, when a login
 * starts, which issuer), retries are bounded, and OpenCode gets an HTTP answer instead of a throw.
 *
 * Already proven in test/integration/engine-session.test.ts (not repeated here): the IdP dying in the
 * middle of a refresh, the IdP answering 500 during a refresh (REFRESH_RETRY's attempts and backoff), and a
 * still-valid token with the IdP down (used as is, then a cooldown).
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { REFRESH_RETRY } from "../../src/core/defaults.js";
import { ErrorCode } from "../../src/core/errors.js";
import { startDeviceAuthorization } from "../../src/core/oauth/device.js";
import { clearDiscoveryCache } from "../../src/core/oauth/discovery.js";
import { Session } from "../../src/core/session.js";
import { methodsFor } from "../../src/opencode/auth-methods.js";
import { providerFetch } from "../../src/opencode/provider-fetch.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun } from "../support/child-processes.js";
import { buildEngine, type EngineBuild, ROOT } from "../support/engine-build.js";
import {
  defaultBackoff,
  manualClock,
  oidcSettings,
  quickLogin,
  recordingLogger,
  rejection,
  SCOPES,
  sessionKey,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { sandboxRuntime, timed, within } from "../support/faults-fixtures.js";

const IDP_TIMEOUT_MS = 300;

let box: Sandbox | undefined;
let home: TempHome | undefined;
let build: EngineBuild | undefined;

afterEach(async () => {
  box?.idp.setFault(null);
  await box?.close();
  home?.cleanup();
  build?.cleanup();
  box = undefined;
  home = undefined;
  build = undefined;
});

/** A sandbox, a temp home, and a stored login whose access token has already expired. */
async function expiredLogin() {
  box = await startSandbox({ idp: { accessTokenTtlSeconds: 60 } });
  home = tempHome();
  const logger = recordingLogger();
  const store = new FileTokenStore(home.tokenFile, logger);
  const clock = manualClock();
  const sleeps: number[] = [];
  const session = new Session({
    key: sessionKey(box.idp),
    settings: oidcSettings(box.idp),
    storage: store,
    skewSeconds: 300,
    clock,
    logger,
    idpTimeoutMs: IDP_TIMEOUT_MS,
    sleep: async (ms) => void sleeps.push(ms),
  });
  const tokens = await quickLogin(box.idp);
  await session.save(tokens);
  clock.advance(61_000);
  return { idp: box.idp, session, store, tokens, sleeps, key: sessionKey(box.idp) };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("refresh with the IdP in trouble", () => {
  it("slow IdP (answers after 5 s, timeout 300 ms): IDP_UNAVAILABLE 'did not answer in time' naming the issuer after bounded attempts, session kept, then recovers", async () => {
    const { idp, session, store, tokens, sleeps, key } = await expiredLogin();
    idp.setFault({ delayMs: 5_000 });
    const { value: error, ms } = await timed(rejection(session.getAccessToken()));
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toMatch(/did not answer in time/);
    expect(error.message).toContain(`Refreshing the access token at ${idp.issuer}`);
    expect(error.message).toMatch(/login is kept/);
    expect(error.hint).toMatch(/can reach the identity provider/);
    const attempts = REFRESH_RETRY.attempts;
    expect(session.refreshCalls).toBe(attempts);
    expect(sleeps).toEqual(defaultBackoff());
    // Every attempt timed out (the backoff sleeps are recorded, not slept): bounded by attempts × the timeout plus overhead.
    expect(ms).toBeLessThan(attempts * IDP_TIMEOUT_MS + 1_500);
    expect(ms).toBeGreaterThanOrEqual(attempts * IDP_TIMEOUT_MS - 50);
    // The timed-out requests were abandoned by the client and never processed by the IdP.
    expect(idp.counts.refreshGrant).toBe(0);
    expect((await store.read(key))?.refreshToken).toBe(tokens.refreshToken);

    idp.setFault(null);
    expect(await session.getAccessToken()).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
    expect(idp.counts.refreshGrantFailures).toBe(0);
  });

  it("IdP port closed before the refresh: IDP_UNAVAILABLE 'cannot be reached' naming the issuer, every attempt made, session kept, refreshes after resume", async () => {
    const { idp, session, store, tokens, key } = await expiredLogin();
    await idp.pause();
    const { value: error, ms } = await timed(rejection(session.getAccessToken()));
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toMatch(/cannot be reached/);
    expect(error.message).toContain(idp.issuer);
    expect(error.message).toMatch(/login is kept/);
    expect(session.refreshCalls).toBe(REFRESH_RETRY.attempts);
    expect(ms).toBeLessThan(1_000);
    expect((await store.read(key))?.refreshToken).toBe(tokens.refreshToken);

    await idp.resume();
    expect(await session.getAccessToken()).not.toBe(tokens.accessToken);
    expect(idp.counts.refreshGrant).toBe(1);
  });

  it.each([
    ["answering 500", { status: 500 }, /HTTP 500/],
    ["down", "pause", /cannot be reached/],
  ] as const)(
    "in OpenCode (providerFetch), IdP %s: an HTTP 503 JSON error saying the login is kept, no throw, the session survives",
    async (_, fault, message) => {
      box = await startSandbox({ idp: { accessTokenTtlSeconds: 60 } });
      home = tempHome();
      const clock = manualClock();
      const rt = await sandboxRuntime(box, home, {
        runtime: { clock, retry: { baseDelayMs: 1, maxDelayMs: 1 } },
      });
      const tokens = await quickLogin(box.idp);
      await rt.session().save(tokens);
      clock.advance(61_000);
      if (fault === "pause") await box.idp.pause();
      else box.idp.setFault(fault);

      const fetch = providerFetch(rt, "oauth");
      const response = await within(
        5_000,
        fetch(`${box.gateway.url}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
        }),
        "providerFetch",
      );
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { message: string; code: string } };
      expect(body.error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
      expect(body.error.message).toMatch(message);
      expect(body.error.message).toContain(box.idp.issuer);
      expect(body.error.message).toMatch(/login is kept/);
      // Nothing reached the gateway without a valid token.
      expect(box.gateway.requests).toHaveLength(0);
      expect((await rt.store.read(rt.sessionKey))?.refreshToken).toBe(tokens.refreshToken);

      box.idp.setFault(null);
      await box.idp.resume();
      const ok = await fetch(`${box.gateway.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(ok.status).toBe(200);
    },
  );
});

describe("starting a device login with the IdP in trouble", () => {
  it("CLI, issuer never reachable: exit 1 at once, IDP_UNAVAILABLE naming the issuer", async () => {
    build = await buildEngine();
    home = tempHome();
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const env = {
      PATH: process.env.PATH,
      ...home.env,
      OKTA_ISSUER: issuer,
      OKTA_CLIENT_ID: "sandbox-cli",
      HAIILO_AI_BASE_URL: "http://127.0.0.1:9/v1",
      NO_COLOR: "1",
    };
    const login = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], { env, cwd: ROOT });
    const { value: exit, ms } = await timed(within(15_000, login.exited, "CLI login"));
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("(code IDP_UNAVAILABLE)");
    expect(exit.stderr).toContain(issuer);
    expect(exit.stderr).toMatch(/cannot be reached/);
    expect(exit.stdout).toBe("");
    expect(ms).toBeLessThan(10_000);
  });

  it("issuer known (discovery cached) but now down: IDP_UNAVAILABLE naming the issuer, also in OpenCode's login dialog", async () => {
    box = await startSandbox();
    home = tempHome();
    const rt = await sandboxRuntime(box, home);
    const settings = rt.requireOidc();
    clearDiscoveryCache();
    await startDeviceAuthorization(settings); // discovery is now cached in this process
    await box.idp.pause();

    const error = await rejection(startDeviceAuthorization(settings));
    expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
    expect(error.message).toMatch(/cannot be reached/);
    expect(error.message).toContain(box.idp.issuer);

    // OpenCode's "Okta Device Flow" method: authorize() rejects with that message (OpenCode shows it).
    const device = methodsFor([rt]).find((m) => m.type === "oauth");
    if (device?.type !== "oauth") throw new Error("no device method");
    await expect(device.authorize()).rejects.toThrow(box.idp.issuer);
  });

  it.each([
    ["answering 500", { status: 500, endpoints: "all" as const }, /HTTP 500/],
    ["slow (5 s, timeout 300 ms)", { delayMs: 5_000, endpoints: "all" as const }, /did not answer in time/],
  ])(
    "IdP %s at login start: IDP_UNAVAILABLE naming the issuer, within the timeout",
    async (_, fault, message) => {
      box = await startSandbox();
      const settings = { ...oidcSettings(box.idp), scopes: SCOPES };
      // Both cases: discovery not yet cached (the discovery request fails) and cached (the device request fails).
      for (const cached of [false, true]) {
        clearDiscoveryCache();
        box.idp.setFault(null);
        if (cached) await startDeviceAuthorization(settings);
        const before = box.idp.counts.deviceAuthorization;
        box.idp.setFault(fault);
        const { value: error, ms } = await timed(
          rejection(startDeviceAuthorization(settings, { timeoutMs: IDP_TIMEOUT_MS })),
        );
        expect(error.code).toBe(ErrorCode.IDP_UNAVAILABLE);
        expect(error.message).toMatch(message);
        expect(error.message).toContain(box.idp.issuer);
        expect(error.message).toMatch(cached ? /device login/ : /discovery document/);
        expect(ms).toBeLessThan(IDP_TIMEOUT_MS + 1_000);
        expect(box.idp.counts.deviceAuthorization).toBe(before);
      }
    },
  );
});
