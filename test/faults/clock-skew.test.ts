/**
 * The user's clock is off by minutes relative to the IdP and the gateway. The CLI runs in a child
 * whose whole wall clock is moved (Date.now and new Date, via a preload), while the IdP and the
 * gateway (real JWT check, clock tolerance 0) keep real time in this process. Checked at 10 min ahead,
 * 10 min behind, and 65 min ahead (past the ID token's 60 min lifetime, where only the 15 min ID-token
 * tolerance in src/core/oauth/client.ts keeps the login working):
 * - the device login works;
 * - the stored expiry is the client's own time + expires_in (not the IdP's `exp`), so the token is
 *   used as is right after login and refreshed only once the skew window of its own lifetime is reached;
 * - the gateway accepts the tokens, the first one and the refreshed one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePresets } from "../../src/presets/resolve.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Sandbox, startSandbox } from "../../src/sandbox/sandbox.js";
import { FileTokenStore } from "../../src/store/token-store.js";
import { ChildRun, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import { type TempHome, tempHome } from "../support/engine-fixtures.js";
import { FAULT_WORKERS, sandboxEnv, within } from "../support/faults-fixtures.js";

const TTL_S = 300;
/** The refresh skew of the preset the CLI uses (Haiilo, resolved), capped at half the lifetime. */
const haiilo = (await resolvePresets({ configFiles: false, env: {} })).presets.get("haiilo")?.preset;
if (!haiilo) throw new Error("the Haiilo preset does not resolve");
const SKEW_S = Math.min(haiilo.oidc.refreshSkewSeconds, TTL_S / 2);
/** A token is fresh (used as is) until the skew window before its expiry. */
const FRESH_S = TTL_S - SKEW_S;
const MIN = 60_000;

let build: EngineBuild;
const boxes: Sandbox[] = [];
const homes: TempHome[] = [];

beforeAll(async () => {
  build = await buildEngine();
});
afterAll(async () => {
  for (const box of boxes) await box.close();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

describe("a client clock off by minutes", () => {
  it.each([
    ["10 min ahead", 10 * MIN],
    ["10 min behind", -10 * MIN],
    ["65 min ahead (ID token already past exp by the client's clock)", 65 * MIN],
  ])(
    "%s: login works, refresh follows expires_in on the client's clock, the gateway accepts the tokens",
    async (_, offset) => {
      const box = await startSandbox({ idp: { accessTokenTtlSeconds: TTL_S, rotateRefreshTokens: true } });
      boxes.push(box);
      const home = tempHome();
      homes.push(home);
      const env = (extraMs = 0) => ({
        PATH: process.env.PATH,
        ...sandboxEnv(box, home),
        NODE_OPTIONS: `--import=${FAULT_WORKERS.skewClockUrl}`,
        FAULTS_CLOCK_OFFSET_MS: String(offset + extraMs),
      });
      const cli = (extraMs: number, ...args: string[]) =>
        run(process.execPath, [build.cli, ...args], { env: env(extraMs), cwd: home.dir });
      const gatewayStatus = async (token: string) =>
        (await fetch(`${box.gateway.url}/models`, { headers: { authorization: `Bearer ${token}` } })).status;

      const login = new ChildRun(process.execPath, [build.cli, "login", "--no-browser"], {
        env: env(),
        cwd: home.dir,
      });
      const [, url] = await within(
        15_000,
        login.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[\w-]+)/),
        "URL",
      );
      await approveDevice(url as string);
      const exit = await within(15_000, login.exited, "login");
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stderr).toMatch(/Logged in to .* as alice@example\.com/);

      const store = new FileTokenStore(home.tokenFile);
      const stored = await store.read({
        preset: "haiilo",
        issuer: box.idp.issuer,
        clientId: box.idp.clientId,
      });
      if (!stored) throw new Error("nothing stored");
      // Times are the client's own: its clock at login, plus expires_in.
      expect(Math.abs(stored.obtainedAt - (Date.now() + offset))).toBeLessThan(30_000);
      expect(stored.expiresAt - stored.obtainedAt).toBe(TTL_S * 1000);
      expect(await gatewayStatus(stored.accessToken)).toBe(200);

      // Right after login and just before the skew window (by the client's clock): the same token, no refresh.
      for (const later of [0, (FRESH_S - 10) * 1000]) {
        const token = await cli(later, "token");
        expect(token.code, token.stderr).toBe(0);
        expect(token.stdout.trim()).toBe(stored.accessToken);
      }
      expect(box.idp.counts.refreshGrant).toBe(0);

      // Inside the skew window by the client's clock: exactly one refresh, and the gateway takes the new token.
      const refreshed = await cli((FRESH_S + 10) * 1000, "token");
      expect(refreshed.code, refreshed.stderr).toBe(0);
      const next = refreshed.stdout.trim();
      expect(next).not.toBe(stored.accessToken);
      expect(box.idp.counts.refreshGrant).toBe(1);
      expect(box.idp.counts.refreshGrantFailures).toBe(0);
      expect(await gatewayStatus(next)).toBe(200);
    },
  );
});
