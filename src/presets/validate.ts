import { shownUrl, urlProblem } from "../core/loopback.js";
import { type SchemaError, validateConfig, validatePreset } from "./generated/validators.js";
import { type Issue, pointerJoin } from "./issues.js";
import type { ConfigDocument, PresetDocument } from "./types.js";

type Validator = typeof validatePreset;

function describeSchemaError(error: SchemaError): { pointer: string; message: string } {
  const { keyword, params, instancePath } = error;
  const field = error.parentSchema?.description as string | undefined;
  const about = field ? ` (${firstSentence(field)})` : "";
  switch (keyword) {
    case "additionalProperties": {
      const allowed = Object.keys(error.parentSchema?.properties ?? {}).filter((k) => k !== "$schema");
      return {
        pointer: pointerJoin(instancePath, params.additionalProperty),
        message: `unknown key "${params.additionalProperty}"; remove it or use one of: ${allowed.join(", ")}`,
      };
    }
    case "required":
      return { pointer: pointerJoin(instancePath, params.missingProperty), message: "is required" };
    case "type":
      return {
        pointer: instancePath,
        message: `expected ${String(params.type).replace(",", " or ")}, got ${jsonType(error.data)}${about}`,
      };
    case "enum":
      return {
        pointer: instancePath,
        message: `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(error.data)}`,
      };
    case "pattern":
      return {
        pointer: instancePath,
        message: `${JSON.stringify(error.data)} is not valid${patternHint(params.pattern)}${about}`,
      };
    case "propertyNames":
      return { pointer: instancePath, message: `invalid key "${params.propertyName}"` };
    default:
      return { pointer: instancePath, message: `${error.message ?? keyword}${about}` };
  }
}

/** The first sentence of a description, never cut inside a `code span`. */
function firstSentence(text: string): string {
  let end = 0;
  for (;;) {
    end = text.indexOf(". ", end + 1);
    if (end < 0) return text.replace(/\.$/, "");
    if ((text.slice(0, end).match(/`/g) ?? []).length % 2 === 0) return text.slice(0, end);
  }
}

function patternHint(pattern: string): string {
  if (pattern.startsWith("^https?://")) return ": expected an absolute http(s) URL";
  if (pattern.startsWith("^[A-Z_]")) return ": expected an environment variable name (A-Z, 0-9, _)";
  if (pattern.includes("*?]"))
    return ": a model glob may contain letters, digits, . _ - / : @ + and the wildcards * and ?";
  return `: expected to match ${pattern}`;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function runSchema(validator: Validator, document: unknown, source: string, base: string): Issue[] {
  if (validator(document)) return [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const error of validator.errors ?? []) {
    // `propertyNames` failures are reported twice by ajv (the name and the wrapper); keep one line per place.
    if (error.keyword === "propertyNames" && error.params.propertyName === undefined) continue;
    const { pointer, message } = describeSchemaError(error);
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ source, pointer: base + pointer, message });
  }
  return issues;
}

export interface CheckOptions {
  /**
   * Check `auth.apiKey.pattern` for catastrophic backtracking (default true). Off for the merged
   * presets, whose patterns come from layers that were checked already (or are bundled).
   */
  patternSafety?: boolean;
}

export async function checkConfigDocument(document: unknown, source: string): Promise<Issue[]> {
  const issues = runSchema(validateConfig, document, source, "");
  const presets = (document as ConfigDocument | null)?.presets;
  if (!Array.isArray(presets)) return issues;
  const ids = new Map<string, number>();
  for (const [index, preset] of presets.entries()) {
    if (typeof preset !== "object" || preset === null) continue;
    const previous = ids.get(preset.id);
    if (previous !== undefined) {
      issues.push({
        source,
        pointer: `/presets/${index}/id`,
        message: `preset "${preset.id}" is already defined at /presets/${previous}`,
      });
    }
    ids.set(preset.id, index);
    issues.push(...(await semanticIssues(preset, source, `/presets/${index}`)));
  }
  return issues;
}

export async function checkPresetDocument(
  document: unknown,
  source: string,
  base = "",
  options: CheckOptions = {},
): Promise<Issue[]> {
  const issues = runSchema(validatePreset, document, source, base);
  if (typeof document !== "object" || document === null) return issues;
  return [...issues, ...(await semanticIssues(document as PresetDocument, source, base, options))];
}

/**
 * What a JSON Schema cannot say: URLs that are insecure, regular expressions that do not compile or
 * could backtrack catastrophically.
 */
export async function semanticIssues(
  preset: PresetDocument,
  source: string,
  base: string,
  options: CheckOptions = {},
): Promise<Issue[]> {
  const issues: Issue[] = [];
  const url = (pointer: string, value: unknown) => {
    if (typeof value !== "string" || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return; // the schema reports non-URLs
    const problem = urlProblem(value);
    if (problem) issues.push({ source, pointer: base + pointer, message: `${shownUrl(value)} ${problem}` });
  };
  url("/provider/baseURL", preset.provider?.baseURL);
  url("/oidc/issuer", preset.oidc?.issuer);
  const endpoints = preset.oidc?.endpoints;
  if (typeof endpoints === "object" && endpoints !== null) {
    for (const [name, value] of Object.entries(endpoints)) url(`/oidc/endpoints/${name}`, value);
  }
  const pattern = preset.auth?.apiKey?.pattern;
  if (typeof pattern === "string") {
    const pointer = `${base}/auth/apiKey/pattern`;
    try {
      new RegExp(pattern);
      if (options.patternSafety !== false) {
        // The checker is loaded only when a configuration sets a pattern.
        const { patternSafetyProblem } = await import("./pattern-safety.js");
        const problem = patternSafetyProblem(pattern);
        if (problem) issues.push({ source, pointer, message: problem });
      }
    } catch (error) {
      issues.push({
        source,
        pointer,
        message: `is not a valid regular expression: ${(error as Error).message}`,
      });
    }
  }
  return issues;
}
