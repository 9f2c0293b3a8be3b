/** What the gateway told us about one model, before the preset's settings are applied. */
export interface DiscoveredModel {
  id: string;
  ownedBy?: string;
  context?: number;
  output?: number;
  toolCall?: boolean;
  vision?: boolean;
  reasoning?: boolean;
  /** USD per million tokens. */
  cost?: { input?: number; output?: number; cache_read?: number; cache_write?: number };
}

export type Modality = "text" | "image" | "audio" | "video" | "pdf";

/**
 * One model with the preset's settings applied, in the preset schema's vocabulary (the fields a
 * `models` rule sets). Host-neutral: the OpenCode adapter maps it to OpenCode's model config.
 */
export interface ModelSpec {
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

/** One per-model settings rule of a preset: applied to every model whose id matches `match`. */
export interface ModelRule {
  match: string;
  name?: string;
  limit?: { context?: number; output?: number };
  tool_call?: boolean;
  reasoning?: boolean;
  attachment?: boolean;
  temperature?: boolean;
  modalities?: { input?: Modality[]; output?: Modality[] };
  cost?: { input?: number; output?: number; cache_read?: number; cache_write?: number };
  options?: Record<string, unknown>;
}
