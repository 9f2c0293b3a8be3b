/**
 * How long a login takes to notice the approval: from approveDevice resolving to the tokens being
 * stored, over repeated logins with the device interval at 1 s. The user approves right after a
 * pending poll (the worst phase), so the expected delay is one interval minus the approval's own
 * duration; anything beyond that is the engine's overhead.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollDeviceToken, startDeviceAuthorization } from "../../src/core/oauth/device.js";
import { approveDevice } from "../../src/sandbox/approve.js";
import type { TestIdp } from "../../src/sandbox/idp.js";
import {
  oidcSettings,
  sessionFixture,
  startTestIdp,
  type TempHome,
  tempHome,
} from "../support/engine-fixtures.js";
import { median, report } from "../support/measure.js";

const INTERVAL_MS = 1000;
const LOGINS = 6;

let idp: TestIdp;
const homes: TempHome[] = [];
beforeAll(async () => {
  idp = await startTestIdp({ deviceInterval: INTERVAL_MS / 1000 });
});
afterAll(async () => {
  await idp?.close();
  for (const home of homes) home.cleanup();
});

interface Sample {
  /** approveDevice resolved → tokens saved in the store file. */
  approvalToStored: number;
  /** The last pending poll → approveDevice resolved (time the "user" took). */
  approving: number;
}

async function timedLogin(): Promise<Sample> {
  const home = tempHome();
  homes.push(home);
  const settings = oidcSettings(idp);
  const { session } = sessionFixture(idp, home);
  const auth = await startDeviceAuthorization(settings);
  let approval: Promise<{ pendingAt: number; approvedAt: number }> | undefined;
  const stored = pollDeviceToken(settings, auth, {
    onPoll: (outcome) => {
      if (outcome !== "pending" || approval) return;
      const pendingAt = performance.now();
      approval = approveDevice(auth.verificationUriComplete as string).then(() => ({
        pendingAt,
        approvedAt: performance.now(),
      }));
    },
  })
    .then((tokens) => session.save(tokens))
    .then(() => performance.now());
  const storedAt = await stored;
  if (!approval) throw new Error("the login finished without a pending poll");
  const { pendingAt, approvedAt } = await approval;
  return { approvalToStored: storedAt - approvedAt, approving: approvedAt - pendingAt };
}

describe("latency from approval to stored tokens", () => {
  it(`over ${LOGINS} logins, the tokens are stored at the next scheduled poll`, {
    timeout: 30_000,
  }, async () => {
    const samples: Sample[] = [];
    for (let i = 0; i < LOGINS; i++) samples.push(await timedLogin());
    const latencies = samples.map((s) => s.approvalToStored);
    const overheads = samples.map((s) => s.approvalToStored + s.approving - INTERVAL_MS);
    const m = median(latencies);
    report("approval → stored, per login (ms)", latencies.map(Math.round));
    report("approval → stored, median (ms)", Math.round(m));
    report("approval → stored, median as a multiple of the 1 s poll interval", (m / INTERVAL_MS).toFixed(2));
    report("engine overhead beyond the next scheduled poll, median (ms)", Math.round(median(overheads)));
    // Picked up by the very next poll: never a whole extra interval late.
    for (const latency of latencies) expect(latency).toBeLessThan(INTERVAL_MS + 250);
    expect(median(overheads)).toBeLessThan(250);
  });
});
