// The plugin's share of OpenCode's startup, in one fresh process: import the plugin entry, call
// its default export (the default preset's plugin function) with a fake PluginInput ({ directory }),
// then the config hook on an empty config, then the auth loader if there is one (the plugin has none
// since the config hook's fetch signs every request; loaderMs is then ~0). Then the same calls again, warm, <reps> times.
// The environment (XDG folders, preset env vars) comes from the parent: logged in, fresh model cache.
// Usage: node hooks-probe.mjs <index.js URL> <engine.js URL> <directory> <reps>
const [indexUrl, engineUrl, directory, repsArg] = process.argv.slice(2);
const reps = Number(repsArg);
const MARKER = "stored-by-opencode-oidc";
const getAuth = async () => ({
  type: "oauth",
  refresh: MARKER,
  access: MARKER,
  expires: Date.now() + 3_600_000,
});

const t0 = performance.now();
const { default: plugin } = await import(indexUrl);
const t1 = performance.now();
const hooks = await plugin({ directory }, undefined);
const t2 = performance.now();
const config = {};
await hooks.config(config);
const t3 = performance.now();
await hooks.auth?.loader?.(getAuth, {});
const t4 = performance.now();
const provider = config.provider?.haiiloAi;
const first = {
  startMs: t0,
  importMs: t1 - t0,
  serverMs: t2 - t1,
  configMs: t3 - t2,
  loaderMs: t4 - t3,
  models: Object.keys(provider?.models ?? {}).length,
};

// Where server() spends its time: the preset resolution (config-file search, validation).
const { resolveTenants } = await import(engineUrl);
const warm = { serverMs: [], configMs: [], resolveMs: [] };
for (let i = 0; i < reps; i++) {
  const a = performance.now();
  const h = await plugin({ directory }, undefined);
  const b = performance.now();
  await h.config({});
  const c = performance.now();
  await resolveTenants({ cwd: directory });
  const d = performance.now();
  warm.serverMs.push(b - a);
  warm.configMs.push(c - b);
  warm.resolveMs.push(d - c);
}
process.stdout.write(`${JSON.stringify({ first, warm })}\n`);
