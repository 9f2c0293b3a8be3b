export const PLUGIN_ID = "@haiilo/opencode-haiilo-ai";
