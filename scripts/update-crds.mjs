#!/usr/bin/env node
// Refreshes the vendored Envoy Gateway CRDs in crds/envoy-gateway/ from an upstream release tag and
// records tag, upstream path and SHA-256 of each file in crds/envoy-gateway/source.json.
//
//   node scripts/update-crds.mjs v1.9.0                 # download from GitHub (raw files of the tag)
//   node scripts/update-crds.mjs v1.9.0 --git DIR       # read from a local clone of envoyproxy/gateway
//
// Afterwards: `npm run gen` (rebuilds src/gateway/generated/) and the envoy tests
// (`npx vitest run test/unit/envoy-validate.test.ts test/unit/envoy-render.test.ts`).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPOSITORY = "envoyproxy/gateway";
const FILES = ["gateway.envoyproxy.io_securitypolicies.yaml", "gateway.envoyproxy.io_httproutefilters.yaml"];
// Where the generated CRDs live in the repository: since v1.8 under the crds subchart, before in the chart.
const UPSTREAM_DIRS = [
  "charts/gateway-helm/charts/crds/crds/generated",
  "charts/gateway-helm/crds/generated",
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "crds/envoy-gateway");

function usage(message) {
  if (message) console.error(message);
  console.error("Usage: node scripts/update-crds.mjs <tag, e.g. v1.9.0> [--git DIR]");
  process.exit(2);
}

const args = process.argv.slice(2);
const tag = args[0];
if (!tag || !/^v\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(tag))
  usage(tag ? `Not a release tag: ${tag}` : undefined);
const gitIndex = args.indexOf("--git");
const gitDir = gitIndex > 0 ? args[gitIndex + 1] : undefined;
if (gitIndex > 0 && !gitDir) usage("--git needs the folder of a clone");

/** The file's text at the tag, or undefined when it is not at that path. */
async function readUpstream(path) {
  if (gitDir) {
    try {
      return execFileSync("git", ["-C", gitDir, "show", `${tag}:${path}`], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      return undefined;
    }
  }
  const url = `https://raw.githubusercontent.com/${REPOSITORY}/${tag}/${path}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

async function fetchCrd(file) {
  for (const dir of UPSTREAM_DIRS) {
    const text = await readUpstream(`${dir}/${file}`);
    if (text !== undefined) return { dir, text };
  }
  throw new Error(`${file} not found at ${tag} under ${UPSTREAM_DIRS.join(" or ")}`);
}

const results = [];
for (const file of FILES) results.push({ file, ...(await fetchCrd(file)) });
const dirs = new Set(results.map((r) => r.dir));
if (dirs.size !== 1) throw new Error(`The CRDs came from different folders: ${[...dirs].join(", ")}`);

const previous = JSON.parse(readFileSync(join(target, "source.json"), "utf8"));
const source = {
  repository: REPOSITORY,
  tag,
  path: [...dirs][0],
  license: previous.license ?? "Apache-2.0",
  files: {},
};
for (const { file, text } of results) {
  if (!/^kind: CustomResourceDefinition$/m.test(text)) throw new Error(`${file} is not a CRD`);
  writeFileSync(join(target, file), text);
  source.files[file] = createHash("sha256").update(text).digest("hex");
  const changed = previous.files?.[file] !== source.files[file];
  console.error(`${file}: ${changed ? "updated" : "unchanged"} (${source.files[file].slice(0, 12)}…)`);
}
writeFileSync(join(target, "source.json"), `${JSON.stringify(source, null, 2)}\n`);
console.error(
  `crds/envoy-gateway now holds ${REPOSITORY} ${tag}. Update the version in crds/README.md, then run npm run gen and the envoy tests.`,
);
