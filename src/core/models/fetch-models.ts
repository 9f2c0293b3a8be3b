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

const MAX_BYTES = 4 * 1024 * 1024;

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
      { cause: error },
    );
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new OidcError(
      ErrorCode.GATEWAY_REJECTED,
      `The gateway refused the credentials for ${url} (HTTP ${response.status}).`,
      {
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
      details: { status: response.status },
    });
  }
  const text = await readLimited(response, options.maxBytes ?? MAX_BYTES, url);
  try {
    return JSON.parse(text);
  } catch {
    throw new OidcError(ErrorCode.GATEWAY_REJECTED, `The gateway's answer from ${url} is not valid JSON.`);
  }
}

async function readLimited(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  const tooBig = () =>
    new OidcError(
      ErrorCode.GATEWAY_REJECTED,
      `The gateway's answer from ${url} is larger than ${maxBytes} bytes.`,
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
