/** This machine: its clock against the servers' `Date` headers, and the token store with its lock. */
import { constants } from "node:fs";
import { access, lstat, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { DOCTOR } from "../../core/defaults.js";
import { ErrorCode, isOidcError } from "../../core/errors.js";
import type { Tenant } from "../tenant.js";
import { type Check, type DateSample, fail, pass, warn } from "./report.js";

interface Offset {
  source: DateSample["source"];
  /** Local clock minus the server's, in ms (positive: this machine is ahead). */
  ms: number;
  /** How far off the estimate may be: half the round trip plus the header's 1 s resolution. */
  uncertaintyMs: number;
}

/** The best estimate per server: the sample with the shortest round trip. */
function offsets(samples: DateSample[]): Offset[] {
  const best = new Map<DateSample["source"], Offset>();
  for (const s of samples) {
    if (s.serverAt === undefined) continue;
    const offset: Offset = {
      source: s.source,
      // The header is truncated to the second: the server's time was serverAt + 0..999 ms.
      ms: (s.sentAt + s.receivedAt) / 2 - (s.serverAt + 500),
      uncertaintyMs: (s.receivedAt - s.sentAt) / 2 + 500,
    };
    const known = best.get(s.source);
    if (!known || offset.uncertaintyMs < known.uncertaintyMs) best.set(s.source, offset);
  }
  return [...best.values()];
}

/** "0.4 s", "42.0 s", "10 min 0 s": tenths where they matter, minutes where they read better. */
function seconds(ms: number): string {
  const abs = Math.abs(ms) / 1000;
  if (abs < 120) return `${abs.toFixed(1)} s`;
  const whole = Math.round(abs);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
const NAMES = { idp: "the IdP", gateway: "the gateway" } as const;

export function clockCheck(samples: DateSample[]): Check {
  const found = offsets(samples);
  const answered = new Set(samples.map((s) => s.source));
  const details = found.map(
    (o) =>
      `${NAMES[o.source]}: this clock is ${seconds(o.ms)} ${o.ms >= 0 ? "ahead" : "behind"} (±${seconds(o.uncertaintyMs)})`,
  );
  for (const source of ["idp", "gateway"] as const) {
    if (!answered.has(source)) details.push(`${NAMES[source]}: no answer to compare with`);
    else if (!found.some((o) => o.source === source)) details.push(`${NAMES[source]}: sent no Date header`);
  }
  if (found.length === 0)
    return warn(
      "clock",
      "Not checked: neither the IdP nor the gateway gave a Date to compare with.",
      "See the checks above.",
      details,
    );
  const worst = found.reduce((a, b) => (Math.abs(b.ms) > Math.abs(a.ms) ? b : a));
  const off = Math.abs(worst.ms);
  const summary = `This machine's clock is ${seconds(worst.ms)} ${worst.ms >= 0 ? "ahead of" : "behind"} ${NAMES[worst.source]}.`;
  const fix =
    "Turn on automatic time synchronisation (NTP: `timedatectl set-ntp true`, or the OS's date settings). Token expiry and the gateway's checks use the clocks of both sides.";
  if (off > DOCTOR.clockFailSeconds * 1000) return fail("clock", summary, fix, details);
  if (off > DOCTOR.clockPassSeconds * 1000) return warn("clock", summary, fix, details);
  return pass(
    "clock",
    `This machine's clock agrees with the servers' within ${DOCTOR.clockPassSeconds} s.`,
    details,
  );
}

const mode = (m: number) => `0${(m & 0o777).toString(8)}`;

async function nearestFolder(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      if ((await stat(current)).isDirectory()) return current;
    } catch {
      // missing: look further up
    }
    if (dirname(current) === current) return current;
  }
}

/** The token store can be read, written and locked (with a short wait); nothing is written or created. */
export async function storeCheck(tenant: Tenant): Promise<Check> {
  const file = tenant.paths.tokenFile;
  const details = [`file: ${file}`];
  const findings: string[] = [];
  try {
    const info = await lstat(file);
    if (info.isSymbolicLink())
      return fail(
        "store",
        `${file} is a symbolic link; the token store is never written through one.`,
        "Replace it with a regular file (move it away and log in again).",
        details,
      );
    if ((info.mode & 0o077) !== 0) findings.push(`${file} has mode ${mode(info.mode)}, expected 0600`);
    const folder = await stat(dirname(file));
    if ((folder.mode & 0o077) !== 0)
      findings.push(`${dirname(file)} has mode ${mode(folder.mode)}, expected 0700`);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT")
      return fail(
        "store",
        `${file} cannot be read: ${(error as Error).message}.`,
        "Check the file's owner and permissions.",
        details,
      );
    details.push("(no token store yet: it is created at the first login)");
    // Nothing is created here: the nearest existing folder must let the first login create the rest.
    const parent = await nearestFolder(dirname(file));
    try {
      await access(parent, constants.W_OK);
    } catch {
      return fail(
        "store",
        `${parent} cannot be written, so the token store cannot be created.`,
        "Check the folder's owner and permissions, or set XDG_CONFIG_HOME.",
        details,
      );
    }
    if (parent !== dirname(file))
      return pass("store", "The token store can be created at the first login.", details);
  }
  // Its own store object (the same file, mode and keyring): a short wait for the lock instead of 60 s.
  const store = tenant.store.withLockPolicy({ waitMs: DOCTOR.lockWaitMs });
  try {
    const found = await store.inspect();
    if (found.state === "corrupt")
      // Not locked and written here: that would set the file aside, which is the next login's job.
      return warn(
        "store",
        `${file} is ${found.reason}: it counts as logged out and is set aside at the next write.`,
        "Log in again; the damaged file is kept next to it as tokens.json.corrupt-<time>.",
        details,
      );
    await store.checkWritable();
  } catch (error) {
    if (isOidcError(error, ErrorCode.LOCK_TIMEOUT))
      return warn(
        "store",
        `The lock ${file}.lock was busy for ${DOCTOR.lockWaitMs / 1000} s.`,
        "Another opencode-oidc or OpenCode process holds it (a refresh or login). If none is running, delete the .lock folder.",
        details,
      );
    return fail(
      "store",
      isOidcError(error) ? error.message : String(error),
      (isOidcError(error) && error.hint) ||
        "Check that the folder exists, belongs to you and can be written.",
      details,
    );
  }
  if (findings.length > 0)
    return warn("store", findings.join("; "), `chmod 600 ${file}; chmod 700 ${dirname(file)}`, details);
  return pass("store", "The token store and its lock are usable.", details);
}
