/** Turns a preset into commented Envoy YAML (Envoy Gateway resources or a raw Envoy fragment). */
import { join } from "node:path";
import { Document, isMap, isScalar, isSeq, type Node } from "yaml";
import { ENVOY_DISCOVERY_TIMEOUT_MS } from "../core/defaults.js";
import { ErrorCode, OidcError } from "../core/errors.js";
import { assertSecureUrl } from "../core/loopback.js";
import { globalConfigDir } from "../presets/config-files.js";
import { missingFieldsError } from "../presets/missing.js";
import type { Preset } from "../presets/types.js";
import { defaultTarget, type EnvoyDoc, type EnvoyInputs, gatewayDocs } from "./envoy-gateway.js";
import { rawDoc } from "./envoy-raw.js";
import { checkJwksUri } from "./jwks-uri.js";
import { assertK8sName } from "./k8s-names.js";
import { checkHttpRouteFilter, checkRawEnvoy, checkSecurityPolicy } from "./validate-policy.js";

export type EnvoyFormat = "gateway" | "raw";

export interface RenderEnvoyOptions {
  format: EnvoyFormat;
  /** HTTPRoute the policies attach to. Default: `<preset id>-ai`. */
  target?: string;
  /** JWKS URI; default `preset.oidc.endpoints.jwks` (see `resolveJwksUri`). */
  jwksUri?: string;
  namespace?: string;
  /** Named in the error when issuer or audience are missing. Default: the user's global config file. */
  globalConfigFile?: string;
  /** Told about a setting that works but is risky (an http JWKS URI outside the cluster). */
  onWarning?: (message: string) => void;
  /** A JSON document for the gateway to answer at `path` without a token (OpenCode's onboarding). */
  wellKnown?: { path: string; document: unknown };
}

export interface ResolveJwksOptions {
  /** Fall back to Okta's `{issuer}/v1/keys` when discovery fails. */
  guessOkta?: boolean;
  timeoutMs?: number;
  globalConfigFile?: string;
}

function defaultGlobalConfigFile(): string {
  return join(globalConfigDir(), "config.json");
}

/**
 * The `iss` and `aud` the gateway checks. `iss` is the access tokens' issuer, which is
 * `oidc.compat.accessTokenIssuer` when the IdP signs them under another name (Entra ID v1 tokens).
 * Throws PRESET_INCOMPLETE (naming every way to supply them) when the issuer or audience is unset.
 */
export function requireJwtFields(
  preset: Preset,
  globalConfigFile = defaultGlobalConfigFile(),
): { issuer: string; audience: string } {
  const { issuer, audience } = preset.oidc;
  const missing = [issuer ? undefined : "/oidc/issuer", audience ? undefined : "/oidc/audience"].filter(
    (p): p is string => p !== undefined,
  );
  if (missing.length > 0 || !issuer || !audience) throw missingFieldsError(preset, missing, globalConfigFile);
  return { issuer: preset.oidc.compat.accessTokenIssuer ?? issuer, audience };
}

/**
 * The JWKS URI the gateway should use: `oidc.endpoints.jwks`, else `jwks_uri` from the issuer's
 * discovery document, else (only with `guessOkta`) Okta's `{issuer}/v1/keys`.
 */
export async function resolveJwksUri(
  preset: Preset,
  fetchImpl: typeof fetch = fetch,
  options: ResolveJwksOptions = {},
): Promise<string> {
  if (preset.oidc.endpoints.jwks) return preset.oidc.endpoints.jwks;
  const issuer = preset.oidc.issuer;
  if (!issuer)
    throw missingFieldsError(preset, ["/oidc/issuer"], options.globalConfigFile ?? defaultGlobalConfigFile());
  assertSecureUrl(issuer, "The issuer", "oidc.issuer");
  const base = issuer.replace(/\/+$/, "");
  const url = `${base}/.well-known/openid-configuration`;
  let reason: string;
  try {
    const response = await fetchImpl(url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(options.timeoutMs ?? ENVOY_DISCOVERY_TIMEOUT_MS),
    });
    if (!response.ok) {
      reason = `HTTP ${response.status}`;
    } else {
      const body = (await response.json()) as { jwks_uri?: unknown };
      if (typeof body.jwks_uri === "string" && body.jwks_uri.length > 0) return body.jwks_uri;
      reason = "the document has no jwks_uri";
    }
  } catch (error) {
    const name = (error as { name?: string }).name;
    reason =
      name === "TimeoutError"
        ? `no answer within ${(options.timeoutMs ?? ENVOY_DISCOVERY_TIMEOUT_MS) / 1000} s`
        : String((error as Error).message ?? error);
  }
  if (options.guessOkta) return `${base}/v1/keys`;
  throw new OidcError(ErrorCode.DISCOVERY_FAILED, `Could not read the JWKS URI from ${url}: ${reason}.`, {
    hint: `Pass --jwks-uri, or set oidc.endpoints.jwks in the preset (for Okta: ${base}/v1/keys).`,
    details: { url },
  });
}

function checkedInputs(preset: Preset, opts: RenderEnvoyOptions): EnvoyInputs {
  const wantJwt = preset.auth.deviceFlow.enabled;
  const apiKey = preset.auth.apiKey.enabled;
  if (!wantJwt && !apiKey) {
    throw new OidcError(
      ErrorCode.USAGE,
      `Preset "${preset.id}" enables neither the device login nor API keys: nothing to protect.`,
    );
  }
  if (opts.format === "raw" && !wantJwt) {
    throw new OidcError(
      ErrorCode.USAGE,
      `Preset "${preset.id}" uses API keys only; the raw format covers JWT (jwt_authn) only.`,
      {
        hint: "Use --format gateway (Envoy Gateway apiKeyAuth), or verify keys with ext_authz in plain Envoy.",
      },
    );
  }
  const target = opts.target ?? defaultTarget(preset);
  // Names derived from the target get a suffix ("-api-key", "-well-known"): keep room for the longest.
  assertK8sName(target, "The HTTPRoute name", "--target", { room: "-well-known".length });
  if (opts.namespace !== undefined)
    assertK8sName(opts.namespace, "The namespace", "--namespace", { label: true });
  const base = {
    preset,
    apiKey,
    target,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.wellKnown
      ? { wellKnown: { path: opts.wellKnown.path, body: JSON.stringify(opts.wellKnown.document) } }
      : {}),
  };
  if (!wantJwt) return { ...base, jwt: null };
  const { issuer, audience } = requireJwtFields(preset, opts.globalConfigFile);
  const jwksUri = opts.jwksUri ?? preset.oidc.endpoints.jwks;
  if (!jwksUri) {
    throw new OidcError(ErrorCode.USAGE, `No JWKS URI for preset "${preset.id}".`, {
      hint: "Pass --jwks-uri, set oidc.endpoints.jwks, or let `opencode-oidc envoy` read it from the issuer's discovery document.",
    });
  }
  const { warning } = checkJwksUri(jwksUri, opts.format);
  if (warning) opts.onWarning?.(warning);
  return { ...base, jwt: { issuer, audience, jwksUri } };
}

/** Puts a comment above the key (in a map) or the item (in a list) at `path`. */
function annotate(doc: Document, path: Array<string | number>, comment: string): void {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  const last = path[path.length - 1];
  const text = comment.replace(/^/gm, " ");
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
    if (pair && isScalar(pair.key)) pair.key.commentBefore = text;
  } else if (isSeq(parent) && typeof last === "number") {
    const item = parent.items[last] as Node | undefined;
    if (item) item.commentBefore = text;
  }
}

/** One YAML document as text, comments included. */
export function stringifyDoc(envoyDoc: EnvoyDoc): string {
  const doc = new Document(envoyDoc.value);
  doc.commentBefore = envoyDoc.header.replace(/^/gm, " ");
  for (const note of envoyDoc.notes) annotate(doc, note.path, note.comment);
  return doc.toString({ lineWidth: 0 });
}

/** The plain objects `renderEnvoy` would print, checked by the CEL and cross-reference rules. */
export function buildEnvoyDocs(preset: Preset, opts: RenderEnvoyOptions): EnvoyDoc[] {
  const input = checkedInputs(preset, opts);
  const docs = opts.format === "raw" ? [rawDoc(input)] : gatewayDocs(input);
  for (const doc of docs) {
    const issues =
      opts.format === "raw"
        ? checkRawEnvoy(doc.value)
        : doc.value.kind === "SecurityPolicy"
          ? checkSecurityPolicy(doc.value)
          : doc.value.kind === "HTTPRouteFilter"
            ? checkHttpRouteFilter(doc.value)
            : [];
    if (issues.length > 0) {
      throw new OidcError(
        ErrorCode.PRESET_INVALID,
        `The ${opts.format} Envoy configuration for "${preset.id}" would be rejected.`,
        {
          hint: issues.map((i) => `  ${i.path}: ${i.message}`).join("\n"),
        },
      );
    }
  }
  return docs;
}

/** `# ` before every line: no line break in `text` (YAML knows \\n and \\r) can end the comment. */
export function yamlComment(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `# ${line}`)
    .join("\n");
}

/** Commented YAML for the preset: Envoy Gateway resources (`gateway`) or a raw Envoy fragment (`raw`). */
export function renderEnvoy(preset: Preset, opts: RenderEnvoyOptions): string {
  const docs = buildEnvoyDocs(preset, opts);
  const title = yamlComment(
    [
      `Generated by opencode-oidc for preset "${preset.id}" (${preset.provider.baseURL}).`,
      `Regenerate: opencode-oidc envoy --preset ${preset.id} --format ${opts.format}${opts.target ? ` --target ${opts.target}` : ""}`,
    ].join("\n"),
  );
  return `${title}\n${docs.map((d) => `---\n${stringifyDoc(d)}`).join("")}`;
}
