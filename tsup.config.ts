import { defineConfig } from "tsup";

export default defineConfig([
  {
    // The OpenCode plugin (main), the engine for other hosts, and the CLI.
    entry: { index: "src/index.ts", engine: "src/engine.ts", cli: "src/cli/main.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: { entry: { index: "src/index.ts", engine: "src/engine.ts" } },
    splitting: true,
    sourcemap: false,
    clean: true,
    shims: false,
  },
]);
