/** Does the preset resolve and validate, and which layer set each of its important fields? */
import { formatIssue, type Issue } from "../../presets/issues.js";
import type { Tenant } from "../tenant.js";
import { type Check, fail, pass, printable } from "./report.js";

/** The fields a support person asks about first, as JSON pointers into the resolved preset. */
const KEY_FIELDS = [
  "/oidc/profile",
  "/oidc/issuer",
  "/oidc/clientId",
  "/oidc/audience",
  "/oidc/audienceParam",
  "/oidc/scopes",
  "/provider/baseURL",
];

/** Fields whose value is a credential (a client secret, a private key): shown as set, never printed. */
const SECRET_FIELD = /secret|password|private|assertion|token|^key$/i;

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split("/").slice(1))
    node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** `pointer = value  ← layer` for the key fields and every other field set above the bundled layer. */
function fieldLines(tenant: Tenant): string[] {
  const { origins } = tenant.resolved;
  const overridden = Object.keys(origins).filter((p) => !origins[p]?.source.startsWith("bundled "));
  const pointers = [...KEY_FIELDS, ...overridden.filter((p) => !KEY_FIELDS.includes(p)).sort()];
  return pointers.map((pointer) => {
    const value = valueAt(tenant.preset, pointer);
    if (SECRET_FIELD.test(pointer.split("/").at(-1) ?? "") && value !== undefined && value !== null)
      return `${pointer} = (set, not shown)  ← ${origins[pointer]?.source ?? "default"}`;
    const source = origins[pointer]?.source ?? "default";
    const shown = value === undefined || value === null ? "(not set)" : printable(value, 300);
    return `${pointer} = ${shown}  ← ${source}`;
  });
}

export function presetCheck(
  wanted: string | undefined,
  tenant: Tenant | undefined,
  known: string[],
  issues: Issue[],
  layers: string[],
): Check {
  const problems = issues.slice(0, 20).map(formatIssue);
  if (!tenant) {
    return fail(
      "preset",
      wanted ? `No preset "${printable(wanted)}" resolves.` : "No preset resolves.",
      `Known presets: ${known.join(", ") || "(none)"}. \`opencode-oidc presets list\` shows where each comes from.`,
      problems,
    );
  }
  const details = [`layers: ${layers.join(" < ")}`, ...fieldLines(tenant)];
  if (issues.length > 0) {
    return fail(
      "preset",
      `The configuration has ${issues.length === 1 ? "1 problem" : `${issues.length} problems`}; layers with problems are left out below.`,
      "Fix the places named; `opencode-oidc presets validate FILE` checks a file.",
      [...problems, ...details],
    );
  }
  if (tenant.resolved.missing.length > 0) {
    const missing = tenant.missingError();
    return fail(
      "preset",
      `Preset "${tenant.preset.id}" lacks ${tenant.resolved.missing.map((m) => m.pointer).join(", ")}.`,
      missing.hint ?? missing.message,
      [missing.message, ...details],
    );
  }
  return pass(
    "preset",
    `Preset "${tenant.preset.id}" (${tenant.preset.name}) resolves and validates.`,
    details,
  );
}
