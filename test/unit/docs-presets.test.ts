/**
 * docs/presets.md must document every field of the preset schema. The walker below lists each
 * property of schemas/preset.schema.json as a dotted path (`oidc.refreshSkewSeconds`), with `[]` for
 * array items (`models[].limit.context`) and `*` for the values of a map (`additionalProperties`),
 * resolving local `$ref`s (`#/$defs/...`). A field counts as documented when its path appears in
 * docs/presets.md as a code span of its own: `oidc.refreshSkewSeconds`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

type Schema = Record<string, unknown>;

interface SchemaField {
  path: string;
  description: string | undefined;
}

const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Resolves `#/$defs/name` (and any other local JSON pointer) inside `rootSchema`; other refs: undefined. */
function resolveRef(rootSchema: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = rootSchema;
  for (const raw of ref.slice(2).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = isSchema(node) ? node[part] : undefined;
  }
  return isSchema(node) ? node : undefined;
}

/** Every property of `rootSchema`, depth first, with its path and its description (if any). */
function schemaFields(rootSchema: Schema): SchemaField[] {
  const fields: SchemaField[] = [];
  const visit = (schema: unknown, path: string, refs: ReadonlySet<string>): void => {
    if (!isSchema(schema)) return;
    const ref = schema.$ref;
    if (typeof ref === "string" && !refs.has(ref)) {
      visit(resolveRef(rootSchema, ref), path, new Set([...refs, ref]));
    }
    for (const key of ["allOf", "anyOf", "oneOf"]) {
      const list = schema[key];
      if (Array.isArray(list)) for (const sub of list) visit(sub, path, refs);
    }
    if (isSchema(schema.properties)) {
      for (const [name, child] of Object.entries(schema.properties)) {
        const childPath = path === "" ? name : `${path}.${name}`;
        const description =
          isSchema(child) && typeof child.description === "string" ? child.description : undefined;
        fields.push({ path: childPath, description });
        visit(child, childPath, refs);
      }
    }
    if (schema.items !== undefined) visit(schema.items, `${path}[]`, refs);
    if (isSchema(schema.additionalProperties)) visit(schema.additionalProperties, `${path}.*`, refs);
  };
  visit(rootSchema, "", new Set());
  return fields;
}

/** The contents of every inline code span in a Markdown text. */
function codeSpans(markdown: string): Set<string> {
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  const spans = new Set<string>();
  for (const match of withoutFences.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)) {
    spans.add((match[2] ?? "").trim());
  }
  return spans;
}

function undocumented(fields: readonly SchemaField[], markdown: string): string[] {
  const spans = codeSpans(markdown);
  return fields.map((f) => f.path).filter((path) => !spans.has(path));
}

function withoutDescription(fields: readonly SchemaField[]): string[] {
  return fields.filter((f) => !f.description?.trim()).map((f) => f.path);
}

const readJson = (file: string): Schema => JSON.parse(readFileSync(join(root, file), "utf8")) as Schema;
const presetSchema = readJson("schemas/preset.schema.json");
const configSchema = readJson("schemas/config.schema.json");
const doc = readFileSync(join(root, "docs/presets.md"), "utf8");

describe("docs/presets.md covers schemas/preset.schema.json", () => {
  const fields = schemaFields(presetSchema);

  it("the walker sees nested, array-item and $ref'd fields", () => {
    const paths = fields.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "id",
        "oidc.refreshSkewSeconds",
        "oidc.endpoints.jwks",
        "auth.apiKey.pattern",
        "discovery.static[].id",
        "models[].match",
        "models[].limit.context",
        "models[].modalities.input",
        "models[].cost.cache_read",
        "log.maxBytes",
      ]),
    );
    expect(new Set(paths).size).toBe(paths.length);
  });

  it("documents every field in backticks", () => {
    expect(undocumented(fields, doc)).toEqual([]);
  });

  it("gives every schema property a description", () => {
    expect(withoutDescription(fields)).toEqual([]);
  });

  it("documents the fields of the config document too", () => {
    const configFields = schemaFields(configSchema);
    expect(configFields.map((f) => f.path).sort()).toEqual(["$schema", "default", "presets", "tokenStore"]);
    expect(undocumented(configFields, doc)).toEqual([]);
    expect(withoutDescription(configFields)).toEqual([]);
  });
});

describe("the check fails when it should", () => {
  it("reports a field added to the schema but not to the docs", () => {
    const copy = structuredClone(presetSchema);
    const oidc = (copy.properties as Record<string, Schema>).oidc as Schema;
    (oidc.properties as Record<string, Schema>).madeUpSetting = {
      description: "Not a real field.",
      type: "string",
    };
    const fields = schemaFields(copy);
    expect(fields.map((f) => f.path)).toContain("oidc.madeUpSetting");
    expect(undocumented(fields, doc)).toContain("oidc.madeUpSetting");
  });

  it("finds fields behind a $ref, inside array items and inside map values", () => {
    const copy = structuredClone(presetSchema);
    const defs = copy.$defs as Record<string, Schema>;
    defs.extra = { type: "object", properties: { deep: { description: "d", type: "string" } } };
    const props = copy.properties as Record<string, Schema>;
    props.refField = { description: "r", $ref: "#/$defs/extra" };
    props.listField = { description: "l", type: "array", items: { $ref: "#/$defs/extra" } };
    props.mapField = { description: "m", type: "object", additionalProperties: { $ref: "#/$defs/extra" } };
    const missing = undocumented(schemaFields(copy), doc);
    expect(missing).toEqual(
      expect.arrayContaining(["refField.deep", "listField[].deep", "mapField.*.deep", "refField"]),
    );
  });

  it("reports a property without a description", () => {
    const copy = structuredClone(presetSchema);
    const log = (copy.properties as Record<string, Schema>).log as Schema;
    delete ((log.properties as Record<string, Schema>).file as Schema).description;
    expect(withoutDescription(schemaFields(copy))).toEqual(["log.file"]);
  });

  it("counts only code spans, not plain text or fenced blocks", () => {
    const fields: SchemaField[] = [{ path: "oidc.issuer", description: "x" }];
    expect(undocumented(fields, "The oidc.issuer field.")).toEqual(["oidc.issuer"]);
    expect(undocumented(fields, "```json\n`oidc.issuer`\n```\n")).toEqual(["oidc.issuer"]);
    expect(undocumented(fields, "Set `oidc.issuer`.")).toEqual([]);
    expect(undocumented(fields, "| `oidc.issuer` | string |")).toEqual([]);
  });
});
