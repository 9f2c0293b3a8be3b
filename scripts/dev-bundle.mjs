// The one-file drop-in bundle of the plugin (dev mode), shared by scripts/dev.mjs and bench/.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The OS keyring module is native (a .node file per platform) and cannot be bundled: the bundle
 * imports it by absolute URL from this checkout's node_modules, loaded only when the keyring is used.
 * If the checkout moves away, the plugin falls back to the plain file (tokenStore auto) or says that
 * the module cannot be loaded (tokenStore keyring).
 */
function nativeKeyringFromCheckout(root) {
  return {
    name: "native-keyring-from-checkout",
    setup(build) {
      build.onResolve({ filter: /^@napi-rs\/keyring$/ }, () => {
        const entry = createRequire(join(root, "package.json")).resolve("@napi-rs/keyring");
        return { path: pathToFileURL(entry).href, external: true };
      });
    },
  };
}

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
    plugins: [nativeKeyringFromCheckout(root)],
    legalComments: "none",
  };
}
