/**
 * Writes envoy/jwt-authn.yaml: both Envoy options rendered for the bundled Haiilo preset with
 * placeholder issuer and audience (the production issuer is not public). A unit test checks the
 * shipped file still equals this output.  Run: npx tsx scripts/render-envoy-example.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderEnvoy } from "../src/gateway/render.js";
import { WELL_KNOWN_PATH, wellKnownDocument } from "../src/opencode/well-known.js";
import { applyDefaults } from "../src/presets/defaults.js";
import type { Preset, PresetDocument } from "../src/presets/types.js";

export const EXAMPLE_ISSUER = "https://YOUR_OKTA_DOMAIN/oauth2/YOUR_AUTH_SERVER_ID";
export const EXAMPLE_AUDIENCE = "api://YOUR_AUDIENCE";
/** The release the example's /.well-known/opencode document pins (a placeholder version). */
export const EXAMPLE_VERSION = "X.Y.Z";
export const EXAMPLE_FILE = fileURLToPath(new URL("../envoy/jwt-authn.yaml", import.meta.url));
const HAIILO = fileURLToPath(new URL("../presets/haiilo.json", import.meta.url));

export function examplePreset(): Preset {
  const doc = JSON.parse(readFileSync(HAIILO, "utf8")) as PresetDocument;
  return applyDefaults({
    ...doc,
    oidc: { ...doc.oidc, issuer: EXAMPLE_ISSUER, clientId: "YOUR_CLIENT_ID", audience: EXAMPLE_AUDIENCE },
  });
}

const INTRO = `# Envoy configurations for the Haiilo AI gateway (https://ai.haiilo.cloud/v1), as shipped with
# @haiilo/opencode-haiilo-ai. Two alternatives; use ONE of them:
#   Option A - Envoy Gateway (Kubernetes): the SecurityPolicy / HTTPRoute / HTTPRouteFilter documents below.
#   Option B - plain Envoy: the last document (http_filters + clusters + routes), not a Kubernetes object.
# Both answer /.well-known/opencode (OpenCode's one-command onboarding) without a token; its document
# pins release X.Y.Z of the plugin: render your own with the commands below.
# Replace every YOUR_... placeholder. YOUR_OKTA_DOMAIN/YOUR_AUTH_SERVER_ID: the Okta custom
# authorization server that issues the tokens; api://YOUR_AUDIENCE: its audience.
# Better: render for your own preset, with the issuer's real JWKS URI filled in:
#   opencode-oidc envoy --preset haiilo --format gateway --target haiilo-ai [--namespace NS]
#   opencode-oidc envoy --preset haiilo --format raw
# Regenerate this file: npx tsx scripts/render-envoy-example.ts   (docs/gateway.md explains every field)
`;

const strip = (yaml: string) => yaml.replace(/^(#[^\n]*\n)+/, "");

export function renderEnvoyExample(): string {
  const preset = examplePreset();
  const jwksUri = `${EXAMPLE_ISSUER}/v1/keys`;
  const wellKnown = {
    path: WELL_KNOWN_PATH,
    document: wellKnownDocument(preset, { version: EXAMPLE_VERSION }),
  };
  const gateway = renderEnvoy(preset, { format: "gateway", target: "haiilo-ai", jwksUri, wellKnown });
  const raw = renderEnvoy(preset, { format: "raw", jwksUri, wellKnown });
  const banner = (title: string) => `# ${"=".repeat(98)}\n# ${title}\n# ${"=".repeat(98)}\n`;
  return [
    INTRO,
    banner("Option A - Envoy Gateway (gateway.envoyproxy.io/v1alpha1)"),
    strip(gateway),
    banner("Option B - plain Envoy: envoy.filters.http.jwt_authn (not a Kubernetes object)"),
    strip(raw),
  ].join("");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EXAMPLE_FILE, renderEnvoyExample());
  process.stdout.write(`wrote ${EXAMPLE_FILE}\n`);
}
