import { MODEL_LIST_MAX_BYTES } from "../defaults.js";
import { ErrorCode, OidcError } from "../errors.js";
import type { FetchLike } from "../ports.js";
import { mergeDetails, parseModelInfo, parseModelList } from "./parse.js";
import type { DiscoveredModel } from "./types.js";

export interface FetchModelsOptions {
  baseURL: string;
  path: string;
  metadataPath: string | null;
  /** Auth headers for the gateway (Bearer or API key). */
  headers: Record<string, string>;
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** Largest response body accepted. */
  maxBytes?: number;
}

/** What to check when the gateway's answer is not a model list. */
const NOT_A_LIST_HINT =
  "Check provider.baseURL and discovery.path in the preset: together they must name the gateway's OpenAI-compatible model list (GET …/models).";

/** What to check when the gateway refuses the credential (401/403), by the kind of credential sent. */
function refusedHint(headers: Record<string, string>): string {
  const bearer = Object.keys(headers).some((name) => name.toLowerCase() === "authorization");
  return bearer
    ? "The gateway does not accept this login's token: check that it trusts the preset's issuer and audience (oidc.issuer, oidc.audience) and that oidc.scopes includes the scope it requires; logging in again gets a new token."
    : "The gateway does not accept the stored API key: check that the key is meant for this gateway, or store a new one.";
}

export function joinUrl(baseURL: string, path: string): string {
  return `${baseURL.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** GET the model list (required) and the richer metadata (optional: a failure there is ignored). */
export async function fetchModels(options: FetchModelsOptions): Promise<DiscoveredModel[]> {
  const list = await getJson(joinUrl(options.baseURL, options.path), options);
  let models: DiscoveredModel[];
  try {
    models = parseModelList(list);
  } catch (error) {
    throw new OidcError(
      ErrorCode.GATEWAY_REJECTED,
      `The gateway's model list ${joinUrl(options.baseURL, options.path)} is not usable: ${(error as Error).message}.`,
      { hint: NOT_A_LIST_HINT },
    );
  }
  if (options.metadataPath) {
    try {
      const info = await getJson(joinUrl(options.baseURL, options.metadataPath), options);
      models = mergeDetails(models, parseModelInfo(info));
    } catch {
      // Richer metadata is a bonus; plain OpenAI gateways answer 404 here.
    }
  }
  return models;
}

async function getJson(url: string, options: FetchModelsOptions): Promise<unknown> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { accept: "application/json", ...options.headers },
      signal: options.signal,
    });
  } catch (error) {
    const timedOut = (error as Error)?.name === "TimeoutError" || options.signal?.aborted;
    throw new OidcError(
      ErrorCode.GATEWAY_UNAVAILABLE,
      timedOut ? `The gateway did not answer ${url} in time.` : `The gateway cannot be reached at ${url}.`,
      {
        cause: error,
        hint: "Check provider.baseURL and that this machine can reach the gateway (network, VPN, proxy).",
      },
    );
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new OidcError(
      ErrorCode.GATEWAY_REJECTED,
      `The gateway refused the credentials for ${url} (HTTP ${response.status}).`,
      {
        hint: refusedHint(options.headers),
        details: { status: response.status },
      },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    const code =
      response.status >= 500 || response.status === 429
        ? ErrorCode.GATEWAY_UNAVAILABLE
        : ErrorCode.GATEWAY_REJECTED;
    throw new OidcError(code, `The gateway answered HTTP ${response.status} for ${url}.`, {
      ...(code === ErrorCode.GATEWAY_REJECTED && { hint: NOT_A_LIST_HINT }),
      details: { status: response.status },
    });
  }
  const text = await readLimited(response, options.maxBytes ?? MODEL_LIST_MAX_BYTES, url);
  try {
    return JSON.parse(text);
  } catch {
    throw new OidcError(ErrorCode.GATEWAY_REJECTED, `The gateway's answer from ${url} is not valid JSON.`, {
      hint: NOT_A_LIST_HINT,
    });
  }
}

async function readLimited(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  const tooBig = () =>
    new OidcError(
      ErrorCode.GATEWAY_REJECTED,
      `The gateway's answer from ${url} is larger than ${maxBytes} bytes.`,
      {
        hint: "Check that discovery.path names the model list; if the gateway really lists that many models, list the ones you use in discovery.static instead.",
      },
    );
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooBig();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
