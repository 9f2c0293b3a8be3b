/**
 * A CRD's `openAPIV3Schema` as a JSON Schema for ajv, and ajv's errors as dotted-path issues. Used
 * to check generated documents field by field (types, enums, patterns, required and unknown fields);
 * the CRD's CEL rules are evaluated separately (cel-rules.ts).
 */
import { Ajv, type ValidateFunction } from "ajv";
import type { PolicyIssue } from "./policy-issue.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `x-kubernetes-*` keywords dropped, `nullable` turned into a `null` type, and unknown fields
 * rejected where the structural schema would prune them (objects with `properties` and no
 * `x-kubernetes-preserve-unknown-fields`), as `kubectl apply` does with strict field validation.
 */
export function crdToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(crdToJsonSchema);
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-") || key === "nullable") continue;
    out[key] =
      key === "properties" && isObj(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, crdToJsonSchema(v)]))
        : crdToJsonSchema(value);
  }
  if (node.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  if (
    isObj(node.properties) &&
    node.additionalProperties === undefined &&
    node["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** An ajv validator for a CRD schema, with the OpenAPI formats Kubernetes knows. */
export function structuralValidator(schema: unknown): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  return ajv.compile(crdToJsonSchema(schema) as object);
}

/** A JSON pointer (`/spec/jwt/providers/0`) as a dotted path (`spec.jwt.providers[0]`). */
export function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/** ajv errors as issues; the path names the offending (unknown or missing) field itself. */
export function schemaIssues(
  errors:
    | ReadonlyArray<{
        instancePath: string;
        keyword: string;
        params: Record<string, unknown>;
        message?: string;
      }>
    | null
    | undefined,
  prefix = "",
): PolicyIssue[] {
  return (errors ?? []).map((e) => {
    const field =
      e.keyword === "additionalProperties"
        ? e.params.additionalProperty
        : e.keyword === "required"
          ? e.params.missingProperty
          : undefined;
    const pointer = field === undefined ? e.instancePath : `${e.instancePath}/${String(field)}`;
    const inner = pointerToPath(pointer);
    const path = prefix && inner ? `${prefix}.${inner}` : prefix || inner;
    return {
      path,
      message: e.keyword === "additionalProperties" ? "unknown field" : (e.message ?? e.keyword),
    };
  });
}
