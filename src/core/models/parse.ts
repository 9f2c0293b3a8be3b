import { hasControlCharacters } from "../plain-text.js";
import type { DiscoveredModel } from "./types.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined;
};
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
const perMillion = (v: unknown): number | undefined => {
  const n = num(v);
  return n === undefined ? undefined : Math.round(n * 1e6 * 1e6) / 1e6;
};

/**
 * An OpenAI-style model list (`{data: [{id}]}`) with whatever richer fields the gateway adds:
 * vLLM `max_model_len`, OpenRouter `context_length` / `top_provider.max_completion_tokens` /
 * `pricing` (USD per token), LiteLLM-style `max_input_tokens` / `max_output_tokens`.
 */
export function parseModelList(body: unknown): DiscoveredModel[] {
  const data =
    isObject(body) && Array.isArray(body.data) ? body.data : Array.isArray(body) ? body : undefined;
  if (!data) throw new Error('expected an OpenAI model list ({"data": [{"id": ...}]})');
  const models: DiscoveredModel[] = [];
  for (const entry of data) {
    // No real model id is empty, longer than 200 characters or carries control characters (an id
    // with an escape sequence or a newline could paint a fake row into any listing).
    if (
      !isObject(entry) ||
      typeof entry.id !== "string" ||
      entry.id.length === 0 ||
      entry.id.length > 200 ||
      hasControlCharacters(entry.id)
    )
      continue;
    const model: DiscoveredModel = { id: entry.id };
    if (typeof entry.owned_by === "string") model.ownedBy = entry.owned_by;
    const top = isObject(entry.top_provider) ? entry.top_provider : {};
    const context =
      num(entry.context_length) ??
      num(entry.max_model_len) ??
      num(entry.max_input_tokens) ??
      num(entry.context_window) ??
      num(top.context_length);
    const output =
      num(top.max_completion_tokens) ?? num(entry.max_output_tokens) ?? num(entry.max_completion_tokens);
    if (context) model.context = context;
    if (output) model.output = output;
    if (isObject(entry.pricing)) {
      const input = perMillion(entry.pricing.prompt);
      const out = perMillion(entry.pricing.completion);
      if (input !== undefined || out !== undefined) model.cost = { input: input ?? 0, output: out ?? 0 };
    }
    models.push(model);
  }
  return models;
}

/** LiteLLM `/model/info`: `{data: [{model_name, model_info: {...}}]}` → details by model id. */
export function parseModelInfo(body: unknown): Map<string, Partial<DiscoveredModel>> {
  const out = new Map<string, Partial<DiscoveredModel>>();
  const data = isObject(body) && Array.isArray(body.data) ? body.data : [];
  for (const entry of data) {
    if (!isObject(entry) || typeof entry.model_name !== "string" || !isObject(entry.model_info)) continue;
    const info = entry.model_info;
    const details: Partial<DiscoveredModel> = {};
    const context = num(info.max_input_tokens) ?? num(info.max_tokens);
    const output = num(info.max_output_tokens);
    if (context) details.context = context;
    if (output) details.output = output;
    const toolCall = bool(info.supports_function_calling);
    const vision = bool(info.supports_vision);
    const reasoning = bool(info.supports_reasoning);
    if (toolCall !== undefined) details.toolCall = toolCall;
    if (vision !== undefined) details.vision = vision;
    if (reasoning !== undefined) details.reasoning = reasoning;
    const input = perMillion(info.input_cost_per_token);
    const outCost = perMillion(info.output_cost_per_token);
    if (input !== undefined || outCost !== undefined) {
      details.cost = { input: input ?? 0, output: outCost ?? 0 };
      const cacheRead = perMillion(info.cache_read_input_token_cost);
      const cacheWrite = perMillion(info.cache_creation_input_token_cost);
      if (cacheRead !== undefined) details.cost.cache_read = cacheRead;
      if (cacheWrite !== undefined) details.cost.cache_write = cacheWrite;
    }
    out.set(entry.model_name, details);
  }
  return out;
}

export function mergeDetails(
  models: DiscoveredModel[],
  details: Map<string, Partial<DiscoveredModel>>,
): DiscoveredModel[] {
  return models.map((model) => ({ ...model, ...details.get(model.id), id: model.id }));
}
