#!/usr/bin/env node
// Installs the real OpenCode binary for the end-to-end tests into test/e2e/opencode-bin, outside the
// project's lockfile: opencode-ai lists optional platform packages the registry may not serve, which
// makes `npm ci` refuse the main lockfile. `npm install` in its own folder tolerates that.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "e2e", "opencode-bin");
const bin = join(dir, "node_modules", ".bin", "opencode");
if (!existsSync(bin)) {
  process.stderr.write("Installing opencode-ai for the end-to-end tests (test/e2e/opencode-bin)…\n");
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
process.stderr.write(`opencode ${version} ready for the end-to-end tests.\n`);
