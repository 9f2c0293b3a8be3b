/**
 * `opencode-oidc doctor` through the real CLI against the sandbox (a real oidc-provider and the
 * JWT-checking gateway): a healthy set-up after a login, and three injected faults: the IdP issues
 * tokens for another audience than the gateway expects, the IdP is down (and hung), and this
 * machine's clock is 10 minutes ahead (the CLI runs with a moved wall clock, see faults-skew-clock.mjs).
 * Each run's text and JSON reports are saved in test-results/doctor/ for reading.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCTOR } from "../../src/core/defaults.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import { type Gateway, startGateway } from "../../src/sandbox/gateway.js";
import { startIdp, type TestIdp } from "../../src/sandbox/idp.js";
import {
  SANDBOX_AUDIENCE,
  SANDBOX_CLIENT_ID,
  type Sandbox,
  startSandbox,
} from "../../src/sandbox/sandbox.js";
import type { DoctorReport } from "../../src/tenant/doctor/doctor.js";
import { ChildRun, type Exit, run } from "../support/child-processes.js";
import { buildEngine, type EngineBuild } from "../support/engine-build.js";
import { API_SCOPE, type TempHome, tempHome } from "../support/engine-fixtures.js";
import { FAULT_WORKERS, within } from "../support/faults-fixtures.js";
import { SecretSet } from "../support/secrets.js";

const OUTPUT_FOLDER = fileURLToPath(new URL("../../test-results/doctor", import.meta.url));
const MIN = 60_000;

let build: EngineBuild;
const closers: Array<() => Promise<void>> = [];
const homes: TempHome[] = [];

beforeAll(async () => {
  build = await buildEngine();
  mkdirSync(OUTPUT_FOLDER, { recursive: true });
});
afterAll(async () => {
  for (const close of closers) await close();
  for (const home of homes) home.cleanup();
  build?.cleanup();
});

interface Setup {
  issuer: string;
  clientId: string;
  audience: string;
  gatewayUrl: string;
}

interface Doctor {
  text: Exit;
  report: DoctorReport;
  status: Record<string, string>;
  check(id: string): DoctorReport["checks"][number];
}

/** A temp home logged in (through the CLI, approved in the IdP's pages) to `setup`. */
async function loggedInHome(setup: Setup) {
  const home = tempHome();
  homes.push(home);
  const env = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH,
    ...home.env,
    OKTA_ISSUER: setup.issuer,
    OKTA_CLIENT_ID: setup.clientId,
    OKTA_AUDIENCE: setup.audience,
    HAIILO_AI_BASE_URL: setup.gatewayUrl,
    NO_COLOR: "1",
    OPENCODE_OIDC_NO_BROWSER: "1",
    ...extra,
  });
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

  /** `doctor` and `doctor --json`, both saved under `name`. */
  const doctor = async (name: string, extra: Record<string, string> = {}): Promise<Doctor> => {
    const options = { env: env(extra), cwd: home.dir };
    const [text, asJson] = await Promise.all([
      run(process.execPath, [build.cli, "doctor"], options),
      run(process.execPath, [build.cli, "doctor", "--json"], options),
    ]);
    writeFileSync(
      `${OUTPUT_FOLDER}/${name}.txt`,
      `$ opencode-oidc doctor   # exit ${text.code}\n${text.stdout}${text.stderr}`,
    );
    writeFileSync(`${OUTPUT_FOLDER}/${name}.json`, asJson.stdout);
    expect(asJson.code).toBe(text.code);
    const report = JSON.parse(asJson.stdout) as DoctorReport;
    // No secret in either output: nothing the store holds, and no user code or token shape.
    const secrets = new SecretSet();
    secrets.addStore(home.tokenFile);
    expect([...secrets.leaksIn(text.stdout + text.stderr), ...secrets.leaksIn(asJson.stdout)]).toEqual([]);
    expect(text.stdout + asJson.stdout).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
    const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    const check = (id: string) => {
      const found = report.checks.find((c) => c.id === id);
      if (!found) throw new Error(`no check ${id}`);
      return found;
    };
    return { text, report, status, check };
  };
  return { home, doctor, env };
}

const sandboxSetup = (box: Sandbox): Setup => ({
  issuer: box.idp.issuer,
  clientId: box.idp.clientId,
  audience: box.idp.audience,
  gatewayUrl: box.gateway.url,
});

async function sandbox(): Promise<Sandbox> {
  const box = await startSandbox();
  closers.push(() => box.close());
  return box;
}

describe("opencode-oidc doctor", () => {
  it("healthy sandbox after a login: every check passes, exit 0", async () => {
    const box = await sandbox();
    const { doctor } = await loggedInHome(sandboxSetup(box));
    const d = await doctor("healthy");
    expect(d.status).toEqual({
      preset: "pass",
      discovery: "pass",
      grants: "pass",
      jwks: "pass",
      gateway: "pass",
      token: "pass",
      clock: "pass",
      store: "pass",
    });
    expect(d.text.code).toBe(0);
    expect(d.report).toMatchObject({ preset: "haiilo", ok: true, counts: { pass: 8, warn: 0, fail: 0 } });
    // The layer that set each field the user supplied.
    expect(d.check("preset").details).toContain(`/oidc/issuer = ${box.idp.issuer}  ← env OKTA_ISSUER`);
    expect(d.check("gateway").summary).toMatch(/lists 3 models \(the stored login's access token\)/);
    expect(d.text.stdout).toMatch(/^PASS {2}preset {5}/m);
    expect(d.text.stdout).toMatch(/8 checks: 8 pass, 0 warn, 0 fail\n$/);
  });

  it("fault: the IdP issues tokens for another audience than the gateway and the preset expect", async () => {
    const idp: TestIdp = await startIdp({
      clientId: SANDBOX_CLIENT_ID,
      audience: "api://another-api",
      scopes: [API_SCOPE],
      deviceInterval: 1,
    });
    closers.push(() => idp.close());
    const gateway: Gateway = await startGateway({
      issuer: idp.issuer,
      audiences: [SANDBOX_AUDIENCE],
      jwksUri: idp.jwksUri,
    });
    closers.push(() => gateway.close());
    const { doctor } = await loggedInHome({
      issuer: idp.issuer,
      clientId: idp.clientId,
      audience: SANDBOX_AUDIENCE,
      gatewayUrl: gateway.url,
    });
    const d = await doctor("wrong-audience");
    expect(d.text.code).toBe(1);
    expect(d.status).toMatchObject({
      discovery: "pass",
      jwks: "pass",
      gateway: "fail",
      token: "fail",
      store: "pass",
    });
    expect(d.check("token").summary).toContain(
      `audience api://another-api does not contain the preset's ${SANDBOX_AUDIENCE}`,
    );
    expect(d.check("token").fix).toMatch(/audienceParam/);
    expect(d.check("gateway").details?.join("\n")).toContain("Audiences in Jwt are not allowed");
  });

  it("fault: the IdP is down (refused), and hung (each check gives up after its timeout)", async () => {
    const box = await sandbox();
    const logged = await loggedInHome(sandboxSetup(box));
    // The gateway has fetched the IdP's keys once (as a running Envoy has) before the IdP goes away.
    const models = await run(process.execPath, [build.cli, "models"], {
      env: logged.env(),
      cwd: logged.home.dir,
    });
    expect(models.code, models.stderr).toBe(0);
    await box.idp.pause();
    const down = await logged.doctor("idp-down");
    expect(down.text.code).toBe(1);
    expect(down.status).toMatchObject({
      preset: "pass",
      discovery: "fail",
      gateway: "pass",
      token: "pass",
      store: "pass",
    });
    expect(down.check("discovery").summary).toMatch(/cannot be reached/);
    expect(down.check("jwks").summary).toMatch(/^Not checked/);
    expect(down.check("clock").details).toContain("the IdP: no answer to compare with");

    await box.idp.resume();
    box.idp.setFault({ delayMs: 30_000, endpoints: "all" });
    const started = performance.now();
    const hung = await logged.doctor("idp-hung");
    const ms = performance.now() - started;
    expect(hung.status.discovery).toBe("fail");
    expect(hung.check("discovery").summary).toMatch(/did not answer in time/);
    // Bounded: about one request timeout, far below the IdP's 30 s (and below the run's own bound).
    expect(hung.report.ms).toBeLessThan(DOCTOR.totalTimeoutMs);
    expect(ms).toBeLessThan(DOCTOR.requestTimeoutMs + 5_000);
    box.idp.setFault(null);
  });

  it("fault: this machine's clock is 10 minutes ahead of the IdP and the gateway", async () => {
    const box = await sandbox();
    const { doctor } = await loggedInHome(sandboxSetup(box));
    const d = await doctor("clock-10-min-ahead", {
      NODE_OPTIONS: `--import=${FAULT_WORKERS.skewClockUrl}`,
      FAULTS_CLOCK_OFFSET_MS: String(10 * MIN),
    });
    expect(d.text.code).toBe(1);
    expect(d.status).toMatchObject({ discovery: "pass", gateway: "pass", token: "pass", clock: "fail" });
    expect(d.check("clock").summary).toMatch(
      /^This machine's clock is 10 min [01] s ahead of the (IdP|gateway)\.$/,
    );
    expect(d.check("clock").fix).toMatch(/NTP/);
  });
});
