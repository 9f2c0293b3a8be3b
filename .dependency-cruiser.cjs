/**
 * The layers of the package, checked in CI (`npm run lint:deps`). A wrong arrow fails the build.
 * See docs/architecture.md ("Layers") for the map these rules mirror.
 *
 *   core      the engine's primitives (OAuth, session, models, errors, defaults): imports no other layer
 *   presets   preset documents, config files, validation: core only
 *   store     token store, logs, caches on disk: core only
 *   platform  the operating system (browser launcher): core only
 *   tenant    the per-tenant composition and its use cases (login, credentials, models): core, presets, store
 *   gateway   Envoy configs from a preset: core, presets
 *   sandbox   the local IdP and gateway: core
 *   opencode  the OpenCode adapter, the only code that knows OpenCode
 *   cli       the command line; of src/opencode it may use auth-file.ts (OpenCode's auth.json) and
 *             well-known.ts (OpenCode's onboarding document) only
 */
const layer = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", from: {}, to: { circular: true } },
    {
      name: "core-imports-no-layer",
      comment: "The engine's primitives know nothing of presets, storage, hosts or the terminal.",
      severity: "error",
      from: { path: layer("core") },
      to: { path: "^src/", pathNot: layer("core") },
    },
    {
      name: "presets-store-platform-import-only-core",
      severity: "error",
      from: { path: "^src/(presets|store|platform)/" },
      to: { path: "^src/", pathNot: ["^src/core/", "^src/$1/"] },
    },
    {
      name: "tenant-imports-no-host",
      comment: "The use cases are host-neutral: no OpenCode, CLI, platform, gateway or sandbox.",
      severity: "error",
      from: { path: layer("tenant") },
      to: { path: "^src/(opencode|cli|platform|gateway|sandbox)/" },
    },
    {
      name: "gateway-imports-core-and-presets",
      severity: "error",
      from: { path: layer("gateway") },
      to: { path: "^src/", pathNot: "^src/(core|presets|gateway)/" },
    },
    {
      name: "sandbox-imports-only-core",
      severity: "error",
      from: { path: layer("sandbox") },
      to: { path: "^src/", pathNot: "^src/(core|sandbox)/" },
    },
    {
      name: "opencode-does-not-import-cli",
      severity: "error",
      from: { path: layer("opencode") },
      to: { path: "^src/(cli|sandbox)/" },
    },
    {
      name: "cli-uses-only-opencode-file-formats",
      comment:
        "The CLI writes OpenCode's auth.json and its /.well-known/opencode document; the adapter itself is off limits.",
      severity: "error",
      from: { path: layer("cli") },
      to: { path: layer("opencode"), pathNot: "^src/opencode/(auth-file|well-known)\\.ts$" },
    },
    {
      name: "engine-entry-reaches-no-host",
      comment: "The ./engine export carries nothing of OpenCode, the CLI or the terminal.",
      severity: "error",
      from: { path: "^src/engine\\.ts$" },
      to: { path: "^src/(opencode|cli|platform)/", reachable: true },
    },
    {
      name: "no-test-code-in-src",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^src/presets/generated/" },
  },
};
