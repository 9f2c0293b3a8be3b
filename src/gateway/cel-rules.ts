/**
 * The CEL rules of a Kubernetes CRD (`x-kubernetes-validations`), evaluated the way the API server
 * does on create: at every schema node where they are declared, on the value found there (`self`),
 * after the schema's defaults are filled in, with integers as CEL ints. Transition rules (those using
 * `oldSelf`) only run on updates and are skipped. Also the list rules of a structural schema
 * (`x-kubernetes-list-type: set | map`), which no JSON Schema keyword expresses.
 */
import { Environment } from "@marcbachmann/cel-js";
import type { PolicyIssue } from "./policy-issue.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
}

const env = new Environment().registerVariable("self", "dyn");
const compiled = new Map<string, (ctx: { self: unknown }) => unknown>();

function compile(expression: string): (ctx: { self: unknown }) => unknown {
  let fn = compiled.get(expression);
  if (!fn) {
    fn = env.parse(expression) as (ctx: { self: unknown }) => unknown;
    compiled.set(expression, fn);
  }
  return fn;
}

const firstLine = (error: unknown): string => String((error as Error)?.message ?? error).split("\n")[0] ?? "";

/**
 * The value as the API server hands it to CEL: schema defaults applied where a field is absent,
 * `type: integer` as bigint (CEL int), everything else as parsed.
 */
export function celValue(schema: Obj, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (schema.type === "integer" && typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) {
    const items = isObj(schema.items) ? schema.items : {};
    return value.map((v) => celValue(items, v));
  }
  if (!isObj(value)) return value;
  const props = isObj(schema.properties) ? schema.properties : {};
  const extra = isObj(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const out: Obj = {};
  for (const [key, v] of Object.entries(value)) {
    const child = props[key];
    out[key] = celValue(isObj(child) ? child : (extra ?? {}), v);
  }
  for (const [key, child] of Object.entries(props)) {
    if (out[key] === undefined && isObj(child) && child.default !== undefined) {
      out[key] = celValue(child, structuredClone(child.default));
    }
  }
  return out;
}

/** A rule's `fieldPath` (`.foo.bar`, `.foo['key']`, `.items[0]`) below the node's own path. */
function withFieldPath(path: string, fieldPath: string): string {
  const relative = fieldPath.replace(/\[['"]([^'"\]]+)['"]\]/g, ".$1");
  return `${path}${relative}`.replace(/^\./, "");
}

function evaluateRule(rule: CelRule, self: unknown, path: string, out: PolicyIssue[]): void {
  if (/\b(?:old|optionalOld)Self\b/.test(rule.rule)) return;
  const at = rule.fieldPath ? withFieldPath(path, rule.fieldPath) : path;
  const base = rule.message ?? `failed rule: ${rule.rule}`;
  let result: unknown;
  try {
    result = compile(rule.rule)({ self });
  } catch (error) {
    out.push({ path: at, message: `${base} (the rule cannot be evaluated here: ${firstLine(error)})` });
    return;
  }
  if (result === true) return;
  let message = base;
  if (rule.messageExpression) {
    try {
      const text = compile(rule.messageExpression)({ self });
      if (typeof text === "string" && text.length > 0) message = text;
    } catch {
      // The static message (or the rule) stands in, as on the API server.
    }
  }
  out.push({ path: at, message });
}

function listDuplicates(schema: Obj, list: unknown[], path: string, out: PolicyIssue[]): void {
  const type = schema["x-kubernetes-list-type"];
  if (type !== "set" && type !== "map") return;
  const keys = Array.isArray(schema["x-kubernetes-list-map-keys"])
    ? (schema["x-kubernetes-list-map-keys"] as string[])
    : [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const identity =
      type === "map" && isObj(item)
        ? JSON.stringify(keys.map((k) => item[k] ?? null))
        : JSON.stringify(item, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    if (seen.has(identity)) {
      out.push({
        path: `${path}[${i}]`,
        message:
          type === "map"
            ? `duplicate entry: another item has the same ${keys.join(", ")} (list-type map)`
            : "duplicate value (list-type set)",
      });
    }
    seen.add(identity);
  });
}

function visit(schema: Obj, value: unknown, path: string, out: PolicyIssue[]): void {
  if (value === null || value === undefined) return;
  const rules = schema["x-kubernetes-validations"];
  if (Array.isArray(rules))
    for (const rule of rules) if (isObj(rule)) evaluateRule(rule as unknown as CelRule, value, path, out);
  if (Array.isArray(value)) {
    listDuplicates(schema, value, path, out);
    if (isObj(schema.items)) {
      const items = schema.items;
      value.forEach((item, i) => {
        visit(items, item, `${path}[${i}]`, out);
      });
    }
    return;
  }
  if (!isObj(value)) return;
  const props = isObj(schema.properties) ? schema.properties : {};
  const extra = isObj(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const [key, child] of Object.entries(value)) {
    const sub = props[key] ?? extra;
    if (isObj(sub)) visit(sub, child, path ? `${path}.${key}` : key, out);
  }
}

/**
 * Every CEL rule (and list-type rule) of `schema` that `doc` breaks, with the path of the node where
 * the rule is declared (or its `fieldPath`) and the rule's own message.
 */
export function celRuleIssues(schema: Obj, doc: unknown): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  visit(schema, celValue(schema, doc), "", out);
  return out;
}

/** Compiles every rule in `schema`; returns the ones the CEL library cannot parse, with its error. */
export function unparsableRules(schema: unknown): Array<{ rule: string; error: string }> {
  const bad: Array<{ rule: string; error: string }> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isObj(node)) return;
    const rules = node["x-kubernetes-validations"];
    if (Array.isArray(rules)) {
      for (const r of rules) {
        if (!isObj(r) || typeof r.rule !== "string") continue;
        try {
          compile(r.rule);
        } catch (error) {
          bad.push({ rule: r.rule, error: firstLine(error) });
        }
      }
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(schema);
  return bad;
}
