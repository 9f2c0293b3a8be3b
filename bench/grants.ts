/**
 * 6. The login grants.
 *   a. Browser login, from the browser's callback to the token stored: the engine's loopback listener
 *      receives the redirect, checks state/iss, exchanges the code (PKCE) with the sandbox IdP and the
 *      tokens are written to a real token store. In process, the IdP's pages driven by the approver.
 *   b. A machine identity's cost on `opencode run` (real binary) against an interactive login's,
 *      interleaved run by run: M0 machine identity (client secret) in a fresh HOME with nothing stored
 *      (the run makes the grant), M1 the same HOME afterwards (the machine token is cached), L a HOME
 *      with a stored device login (CLI). Ratios of medians M0/L and M1/L, side by side.
 */
import { startBrowserLogin } from "../src/core/oauth/browser-login.js";
import { Session } from "../src/core/session.js";
import { approveAuthorization } from "../src/sandbox/approve.js";
import { startSandbox } from "../src/sandbox/sandbox.js";
import { FileTokenStore } from "../src/store/token-store.js";
import { makeHome, type OpencodeHome, writeConfig } from "../test/e2e/support/opencode.js";
import type { PrivateBuild } from "./support/build.js";
import { onCleanup } from "./support/cleanup.js";
import { benchIdp, cliLogin, oidcSettings, TMP_PREFIX, tempHome } from "./support/fixtures.js";
import { type BenchResult, fmt, log, type Row } from "./support/report.js";
import { median, round, summary } from "./support/stats.js";
import { runTimed } from "./support/timed-opencode.js";

async function browserCallbackToStored(logins: number) {
  const idp = await benchIdp();
  const settings = oidcSettings(idp);
  const home = tempHome("browser");
  const store = new FileTokenStore(home.tokenFile);
  const session = new Session({
    key: { preset: "haiilo", issuer: idp.issuer, clientId: idp.clientId },
    settings,
    storage: store,
    skewSeconds: 300,
  });
  const samples: number[] = [];
  for (let i = 0; i < logins + 1; i++) {
    const login = await startBrowserLogin(settings, { appName: "Haiilo AI", returnTo: "the terminal" });
    const redirect = await approveAuthorization(login.url);
    const started = performance.now();
    const page = await fetch(redirect);
    const tokens = await login.result;
    await session.save(tokens);
    const ms = performance.now() - started;
    await page.body?.cancel();
    if (i > 0) samples.push(ms); // the first one warms the code paths up
  }
  await idp.close();
  return summary(samples);
}

const CHAT = ["run", "-m", "haiiloAi/gpt-4o-mini", "hi"];

export async function benchGrants(opts: {
  build: PrivateBuild;
  logins: number;
  runs: number;
}): Promise<BenchResult> {
  const started = performance.now();
  log("  [6] browser login: callback → token stored…");
  const browser = await browserCallbackToStored(opts.logins);

  const box = await startSandbox();
  onCleanup("sandbox", () => box.close());
  const plugin = { plugin: [opts.build.indexUrl] };
  const home = async (env: Record<string, string>): Promise<OpencodeHome> => {
    const h = await makeHome({
      prefix: `${TMP_PREFIX}grants-`,
      env: { ...box.env, OPENCODE_OIDC_NO_BROWSER: "1", ...env },
    });
    onCleanup(`opencode home ${h.dir}`, () => h.cleanup());
    await writeConfig(h, plugin);
    return h;
  };
  const machineEnv = {
    OPENCODE_OIDC_CLIENT_ID: box.idp.machine.secretBasic.clientId,
    OPENCODE_OIDC_CLIENT_SECRET: box.idp.machine.secretBasic.clientSecret,
  };
  const interactive = await home({});
  await cliLogin(opts.build.cli, interactive.env, interactive.projectDir);

  type Variant = "M0" | "M1" | "L";
  const samples: Array<{ variant: Variant; ms: number; cpuMs: number; code: number | null; grants: number }> =
    [];
  const once = async (variant: Variant) => {
    let h: OpencodeHome;
    if (variant === "L") h = interactive;
    else {
      h = await home(machineEnv);
      if (variant === "M1") {
        const warm = await runTimed(CHAT, h); // the grant happens here, not in the measured run
        if (warm.code !== 0) throw new Error(`machine warm-up failed:\n${warm.stdout}\n${warm.stderr}`);
      }
    }
    const before = box.idp.counts.clientCredentialsGrant;
    const r = await runTimed(CHAT, h);
    if (r.code !== 0) throw new Error(`opencode run (${variant}) failed:\n${r.stdout}\n${r.stderr}`);
    return {
      variant,
      ms: r.ms,
      cpuMs: r.cpuMs,
      code: r.code,
      grants: box.idp.counts.clientCredentialsGrant - before,
    };
  };
  await once("L"); // warm-up, not counted
  const order: Variant[] = ["M0", "M1", "L"];
  for (let i = 0; i < opts.runs; i++) {
    for (let k = 0; k < order.length; k++) samples.push(await once(order[(i + k) % order.length] as Variant));
    log(
      `  [6] run ${i + 1}/${opts.runs}: ${samples
        .slice(-3)
        .map((s) => `${s.variant} ${s.ms} ms (grants ${s.grants})`)
        .join(", ")}`,
    );
  }
  const of = (v: Variant, key: "ms" | "cpuMs") => samples.filter((s) => s.variant === v).map((s) => s[key]);
  const m0 = median(of("M0", "ms"));
  const m1 = median(of("M1", "ms"));
  const l = median(of("L", "ms"));
  const rows: Row[] = [
    {
      bench: "6 grants",
      metric: "browser login: callback → token stored, median",
      value: fmt.ms(browser.median),
    },
    { bench: "6 grants", metric: "browser login: callback → token stored, p95", value: fmt.ms(browser.p95) },
    {
      bench: "6 grants",
      metric: "opencode run, machine identity, grant in the run (M0), median",
      value: fmt.ms(m0, 0),
    },
    {
      bench: "6 grants",
      metric: "opencode run, machine identity, token cached (M1), median",
      value: fmt.ms(m1, 0),
    },
    { bench: "6 grants", metric: "opencode run, interactive login stored (L), median", value: fmt.ms(l, 0) },
    {
      bench: "6 grants",
      metric: "ratio of medians M0/L | M1/L (wall)",
      value: `${fmt.x(m0 / l)} | ${fmt.x(m1 / l)}`,
    },
    {
      bench: "6 grants",
      metric: "ratio of medians M0/L | M1/L (CPU)",
      value: `${fmt.x(median(of("M0", "cpuMs")) / median(of("L", "cpuMs")))} | ${fmt.x(median(of("M1", "cpuMs")) / median(of("L", "cpuMs")))}`,
    },
  ];
  return {
    id: "6",
    title: "login grants",
    rows,
    data: {
      browserCallbackToStored: browser,
      opencodeRun: Object.fromEntries(
        (["M0", "M1", "L"] as const).map((v) => [
          v,
          { wall: summary(of(v, "ms")), cpu: summary(of(v, "cpuMs")) },
        ]),
      ),
      grantsPerRun: Object.fromEntries(
        (["M0", "M1", "L"] as const).map((v) => [
          v,
          samples.filter((s) => s.variant === v).map((s) => s.grants),
        ]),
      ),
      ratios: { m0OverL: round(m0 / l, 3), m1OverL: round(m1 / l, 3) },
    },
    ms: performance.now() - started,
  };
}
