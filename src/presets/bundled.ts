import haiilo from "../../presets/haiilo.json" with { type: "json" };
import type { PresetDocument } from "./types.js";

/** Presets shipped in the package, lowest layer of every resolution. */
export const BUNDLED: ReadonlyArray<{ file: string; preset: PresetDocument }> = [
  { file: "presets/haiilo.json", preset: haiilo as PresetDocument },
];

export const DEFAULT_PRESET_ID = "haiilo";
