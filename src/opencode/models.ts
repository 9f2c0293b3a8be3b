import type { Modality, ModelSpec } from "../core/models/types.js";

/** A model as OpenCode's config describes it (`provider.<id>.models.<model id>`). */
export interface OpencodeModel {
  name: string;
  limit?: { context: number; output: number };
  tool_call?: boolean;
  reasoning?: boolean;
  attachment?: boolean;
  temperature?: boolean;
  modalities?: { input: Modality[]; output: Modality[] };
  cost?: { input: number; output: number; cache_read?: number; cache_write?: number };
  options?: Record<string, unknown>;
}

/** The engine's model specs as OpenCode's `models` map (the preset's vocabulary is OpenCode's, field for field). */
export function toOpencodeModels(specs: Record<string, ModelSpec>): Record<string, OpencodeModel> {
  const out: Record<string, OpencodeModel> = {};
  for (const [id, spec] of Object.entries(specs)) {
    const model: OpencodeModel = { name: spec.name };
    if (spec.limit) model.limit = { ...spec.limit };
    if (spec.tool_call !== undefined) model.tool_call = spec.tool_call;
    if (spec.reasoning !== undefined) model.reasoning = spec.reasoning;
    if (spec.attachment !== undefined) model.attachment = spec.attachment;
    if (spec.temperature !== undefined) model.temperature = spec.temperature;
    if (spec.modalities)
      model.modalities = { input: [...spec.modalities.input], output: [...spec.modalities.output] };
    if (spec.cost) model.cost = { ...spec.cost };
    if (spec.options) model.options = { ...spec.options };
    out[id] = model;
  }
  return out;
}
