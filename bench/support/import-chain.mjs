// Imports several modules one after another in one fresh process and prints the time of each step.
// Each step costs what it adds on top of the previous ones (shared dependencies count once, at
// their first importer), so the steps add up to the total. Usage: node import-chain.mjs <spec>...
const steps = [];
for (const target of process.argv.slice(2)) {
  const t0 = performance.now();
  await import(target);
  steps.push(performance.now() - t0);
}
process.stdout.write(`${JSON.stringify(steps)}\n`);
