// The one-file drop-in bundle of the plugin (dev mode), shared by scripts/dev.mjs and bench/.
import { join } from "node:path";

/** esbuild options for the bundle of `<root>/src/index.ts` written to `outfile`. */
export function devBundleOptions(root, outfile) {
  return {
    entryPoints: [join(root, "src/index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Bundled CommonJS dependencies call require(); give them one in ESM (Node and Bun both have createRequire).
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    // cosmiconfig loads TypeScript only for .ts config files, which this plugin does not search for.
    external: ["typescript"],
    // jsonc-parser's "main" is a UMD build whose require() calls a one-file bundle cannot follow.
    mainFields: ["module", "main"],
    legalComments: "none",
  };
}
