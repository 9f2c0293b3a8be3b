import { setAtPointer } from "./issues.js";
import type { Origins } from "./merge.js";

type Json = Record<string, unknown>;

const LIST_FIELDS = new Set(["/oidc/scopes"]);
const NUMBER_FIELDS = new Set(["/oidc/refreshSkewSeconds", "/discovery/timeoutMs"]);

export const MACHINE_TARGET_PREFIX = "/machine/";

export function isMachineTarget(pointer: string): boolean {
  return pointer.startsWith(MACHINE_TARGET_PREFIX);
}

/** Converts an environment value to the type of the field it targets. */
export function parseEnvValue(pointer: string, raw: string): unknown {
  const value = raw.trim();
  if (LIST_FIELDS.has(pointer)) return value.split(/[\s,]+/).filter(Boolean);
  if (NUMBER_FIELDS.has(pointer)) return /^-?\d+$/.test(value) ? Number(value) : value;
  return value;
}

/** Applies the preset's `env` map (variable → JSON pointer) from `env`, highest layer of all. */
export function applyEnv(
  doc: Json,
  map: Record<string, string>,
  env: Record<string, string | undefined>,
  origins: Origins,
): void {
  for (const [variable, pointer] of Object.entries(map)) {
    // Machine identity inputs (secrets, file paths) are read where they are used, never into the preset.
    if (isMachineTarget(pointer)) continue;
    const raw = env[variable];
    if (raw === undefined || raw.trim() === "") continue;
    setAtPointer(doc, pointer, parseEnvValue(pointer, raw));
    origins[pointer] = { source: `env ${variable}`, pointer };
  }
}
