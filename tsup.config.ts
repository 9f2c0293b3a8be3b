import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

export default defineConfig([
  {
    // The OpenCode plugin (main), the engine for other hosts, and the CLI.
    entry: { index: "src/index.ts", engine: "src/engine.ts", cli: "src/cli/main.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: { entry: { index: "src/index.ts", engine: "src/engine.ts" } },
    splitting: true,
    clean: true,
    // The sandbox's servers are optional peers, loaded only by `opencode-oidc sandbox|demo`.
    external: ["oidc-provider", "jose", "@opencode-ai/plugin"],
    define: { __VERSION__: JSON.stringify(version) },
  },
]);
