// The OpenCode plugin entry. Only the default export: OpenCode rejects a plugin module whose other
// exports are not plugin functions. The engine is at `@haiilo/opencode-haiilo-ai/engine`.
export { default } from "./opencode/plugin.js";
