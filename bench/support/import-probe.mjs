// Imports one module in a fresh process and prints how long that took.
// Usage: node import-probe.mjs <specifier or file URL>
// (Bare specifiers resolve from the project's node_modules, like the plugin's own imports.)
const target = process.argv[2];
const t0 = performance.now();
await import(target);
const t1 = performance.now();
// readyMs: since the process started (performance.timeOrigin), so node's own start is included.
process.stdout.write(`${JSON.stringify({ importMs: t1 - t0, readyMs: t1 })}\n`);
