// The OpenCode plugin entry. OpenCode calls every export of this module as a plugin function (so
// every export must be one): one per preset slot, each giving its preset its own provider and login
// methods (see src/opencode/plugin.ts). The engine is at `@haiilo/opencode-haiilo-ai/engine`.
import { slots } from "./opencode/plugin.js";

const [preset1, preset2, preset3, preset4, preset5, preset6, preset7, preset8] = slots;

export default preset1;
export { preset2, preset3, preset4, preset5, preset6, preset7, preset8 };
