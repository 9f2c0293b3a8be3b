import { ErrorCode, OidcError } from "../core/errors.js";

/** One problem in one place: which document, where in it (JSON pointer), and what was expected. */
export interface Issue {
  source: string;
  pointer: string;
  message: string;
  /** A warning is reported and the rest of the configuration is used; an error (default) is not. */
  severity?: "error" | "warning";
}

export function formatIssue(issue: Issue): string {
  return `${issue.severity === "warning" ? "warning: " : ""}${issue.source}: ${issue.pointer || "/"}: ${issue.message}`;
}

export const isWarning = (issue: Issue): boolean => issue.severity === "warning";

export function presetInvalidError(issues: Issue[]): OidcError {
  const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
  return new OidcError(
    ErrorCode.PRESET_INVALID,
    `Invalid preset configuration (${count}):\n${issues.map((i) => `  - ${formatIssue(i)}`).join("\n")}`,
    {
      hint: "Fix the fields above; `opencode-oidc presets validate FILE` checks a file, and docs/presets.md describes every field.",
      details: issues,
    },
  );
}

/** JSON pointer escaping (RFC 6901). */
export function pointerJoin(base: string, ...parts: Array<string | number>): string {
  return base + parts.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export function pointerParts(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Sets `value` at `pointer` inside `target`, creating the objects on the way. */
export function setAtPointer(target: Record<string, unknown>, pointer: string, value: unknown): void {
  const parts = pointerParts(pointer);
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}
