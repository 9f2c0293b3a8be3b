import { matchesAny, matchesGlob } from "./glob.js";
import type { DiscoveredModel, ModelRule, ModelSpec } from "./types.js";

export interface ModelSettings {
  allow: readonly string[];
  deny: readonly string[];
  rules: readonly ModelRule[];
}

/** Keeps the models the preset allows (deny wins over allow; an empty allow list allows all). */
export function filterModels<T extends { id: string }>(
  models: readonly T[],
  settings: Pick<ModelSettings, "allow" | "deny">,
): T[] {
  return models.filter(
    (m) =>
      (settings.allow.length === 0 || matchesAny(m.id, settings.allow)) && !matchesAny(m.id, settings.deny),
  );
}

/** What the gateway said, in the preset's model vocabulary. */
export function fromDiscovered(model: DiscoveredModel): ModelSpec {
  const out: ModelSpec = { name: model.id };
  if (model.context || model.output) out.limit = { context: model.context ?? 0, output: model.output ?? 0 };
  if (model.toolCall !== undefined) out.tool_call = model.toolCall;
  if (model.reasoning !== undefined) out.reasoning = model.reasoning;
  if (model.vision !== undefined) {
    out.attachment = model.vision;
    out.modalities = { input: model.vision ? ["text", "image"] : ["text"], output: ["text"] };
  }
  if (model.cost)
    out.cost = {
      input: model.cost.input ?? 0,
      output: model.cost.output ?? 0,
      ...pick(model.cost, ["cache_read", "cache_write"]),
    };
  return out;
}

/** Applies every rule whose `match` (exact id or glob) fits, in order; later rules win field by field. */
export function applyRules(id: string, base: ModelSpec, rules: readonly ModelRule[]): ModelSpec {
  const model: ModelSpec = structuredClone(base);
  for (const rule of rules) {
    if (rule.match !== id && !matchesGlob(id, rule.match)) continue;
    if (rule.name !== undefined) model.name = rule.name;
    if (rule.limit) model.limit = { context: 0, output: 0, ...model.limit, ...rule.limit };
    for (const key of ["tool_call", "reasoning", "attachment", "temperature"] as const) {
      if (rule[key] !== undefined) model[key] = rule[key];
    }
    if (rule.modalities)
      model.modalities = { input: ["text"], output: ["text"], ...model.modalities, ...rule.modalities };
    if (rule.cost) model.cost = { input: 0, output: 0, ...model.cost, ...rule.cost };
    if (rule.options) model.options = { ...model.options, ...rule.options };
  }
  return model;
}

/** Discovered models → OpenCode's `models` map, filtered and with the preset's settings applied. */
export function applyModelSettings(
  models: readonly DiscoveredModel[],
  settings: ModelSettings,
): Record<string, ModelSpec> {
  const out: Record<string, ModelSpec> = {};
  for (const model of filterModels(models, settings))
    out[model.id] = applyRules(model.id, fromDiscovered(model), settings.rules);
  return out;
}

function pick<T extends object, K extends keyof T>(value: T, keys: K[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
