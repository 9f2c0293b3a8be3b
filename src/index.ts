// The OpenCode plugin entry. OpenCode calls every export of this module as a plugin function (so
// every export must be one): one per preset slot, each giving its preset its own provider and login
// methods (see src/opencode/plugin.ts). OPENCODE_PRESET_SLOTS (core/defaults.ts) is their number.
// The engine is at `@haiilo/opencode-haiilo-ai/engine`.
import type { Plugin } from "@opencode-ai/plugin";
import { presetSlot } from "./opencode/plugin.js";

const preset1: Plugin = presetSlot(0);
export default preset1;
export const preset2: Plugin = presetSlot(1);
export const preset3: Plugin = presetSlot(2);
export const preset4: Plugin = presetSlot(3);
export const preset5: Plugin = presetSlot(4);
export const preset6: Plugin = presetSlot(5);
export const preset7: Plugin = presetSlot(6);
export const preset8: Plugin = presetSlot(7);
