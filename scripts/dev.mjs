#!/usr/bin/env node
import { execFileSync } from "node:child_process";
// Dev mode (as in the released plugin): run this checkout inside your everyday OpenCode.
//   npm run dev        back up opencode.json, take the npm plugin out of `plugin`, deploy a one-file bundle
//   npm run build:dev  rebuild and redeploy the bundle
//   npm run dev:stop   remove the bundle, put the plugin entry (with its version pin) back from the newest backup
// The OpenCode config folder is $XDG_CONFIG_HOME/opencode (default ~/.config/opencode).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { devBundleOptions } from "./dev-bundle.mjs";

const PACKAGE = "@haiilo/opencode-haiilo-ai";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const configDir = join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "opencode");
const configFile = join(configDir, "opencode.json");
const bundleFile = join(configDir, "plugins", "haiilo-ai-dev.js");
const say = (text) => process.stderr.write(`${text}\n`);

const isOurs = (entry) => {
  const spec = Array.isArray(entry) ? entry[0] : entry;
  return typeof spec === "string" && (spec === PACKAGE || spec.startsWith(`${PACKAGE}@`));
};

function backups() {
  if (!existsSync(configDir)) return [];
  return readdirSync(configDir)
    .filter((name) => name.startsWith("opencode.json.bak-pre-dev-"))
    .sort()
    .map((name) => join(configDir, name));
}

async function bundle() {
  // The preset validators are generated from schemas/ (src/presets/generated is not in git).
  execFileSync(process.execPath, [join(root, "scripts/build-validators.mjs")], { stdio: "inherit" });
  mkdirSync(dirname(bundleFile), { recursive: true });
  await build({ ...devBundleOptions(root, bundleFile), logLevel: "warning" });
  say(`Deployed ${bundleFile}`);
}

async function start() {
  if (existsSync(configFile)) {
    const text = readFileSync(configFile, "utf8");
    const backup = `${configFile}.bak-pre-dev-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    copyFileSync(configFile, backup);
    say(`Backed up ${configFile} to ${backup}`);
    const config = JSON.parse(text);
    if (Array.isArray(config.plugin) && config.plugin.some(isOurs)) {
      config.plugin = config.plugin.filter((entry) => !isOurs(entry));
      writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
      say(`Removed ${PACKAGE} from "plugin" while dev mode is on.`);
    }
  }
  await bundle();
  say("Dev mode is on. Rebuild with `npm run build:dev`; end with `npm run dev:stop`.");
}

function stop() {
  rmSync(bundleFile, { force: true });
  say(`Removed ${bundleFile}`);
  // The newest backup that still has the entry (a second `npm run dev` backs up a config without it).
  const newest =
    backups()
      .reverse()
      .find((file) => {
        try {
          return (JSON.parse(readFileSync(file, "utf8")).plugin ?? []).some(isOurs);
        } catch {
          return false;
        }
      }) ?? backups().at(-1);
  if (!newest) return say("No backup found; opencode.json left as it is.");
  const saved = readFileSync(newest, "utf8");
  const before = JSON.parse(saved);
  const entries = Array.isArray(before.plugin) ? before.plugin.filter(isOurs) : [];
  const current = existsSync(configFile) ? JSON.parse(readFileSync(configFile, "utf8")) : {};
  const withoutOurs = {
    ...before,
    ...(Array.isArray(before.plugin) && { plugin: before.plugin.filter((e) => !isOurs(e)) }),
  };
  if (JSON.stringify(current) === JSON.stringify(withoutOurs)) {
    // Nothing else changed during dev mode: restore the file exactly as it was.
    writeFileSync(configFile, saved);
  } else if (entries.length > 0) {
    // The config changed meanwhile: keep those changes and put the entry back at its old place.
    const index = before.plugin.findIndex(isOurs);
    const plugin = Array.isArray(current.plugin) ? current.plugin.filter((e) => !isOurs(e)) : [];
    plugin.splice(Math.min(index, plugin.length), 0, ...entries);
    writeFileSync(configFile, `${JSON.stringify({ ...current, plugin }, null, 2)}\n`);
  }
  say(`Restored the plugin entry from ${newest}.`);
}

const command = process.argv[2];
if (command === "start") await start();
else if (command === "build") await bundle();
else if (command === "stop") stop();
else {
  say("usage: node scripts/dev.mjs start|build|stop");
  process.exit(2);
}
