#!/usr/bin/env node
// Refuses to publish the package while the Haiilo preset still lacks the production issuer and
// client id (they are filled in by the release, never invented in the repository).
import { readFileSync } from "node:fs";

const preset = JSON.parse(readFileSync(new URL("../presets/haiilo.json", import.meta.url), "utf8"));
const missing = ["issuer", "clientId"].filter((key) => !preset.oidc?.[key]);
if (missing.length > 0 && process.env.ALLOW_INCOMPLETE_PRESET !== "1") {
  process.stderr.write(
    `presets/haiilo.json has no oidc.${missing.join(" and no oidc.")}: set the production values before publishing (see docs/presets.md, "Release"), or set ALLOW_INCOMPLETE_PRESET=1 for a pre-release whose users supply them.\n`,
  );
  process.exit(1);
}
