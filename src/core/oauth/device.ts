import { setTimeout as delay } from "node:timers/promises";
import * as oauth from "oauth4webapi";
import { MAX_DEVICE_CODE_LIFETIME_S, MAX_DEVICE_POLL_INTERVAL_S } from "../defaults.js";
import { ErrorCode, isOidcError, OidcError } from "../errors.js";
import { urlProblem } from "../loopback.js";
import { type Clock, systemClock, type TokenSet } from "../ports.js";
import { registerSecret } from "../redact.js";
import {
  clientAuth,
  clientFor,
  type OidcSettings,
  type RequestContext,
  requestOptions,
  toIdpError,
} from "./client.js";
import {
  audienceParameters,
  compatOf,
  deviceAnswerHint,
  normalizeDeviceAuthorizationResponse,
  plainText,
  requestedScopes,
  tokenEndpointAuth,
} from "./compat.js";
import { discover, requireEndpoint } from "./discovery.js";
import { toTokenSet } from "./tokens.js";

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** The IdP's own instructions, if it sends any (Entra ID), without control characters. */
  message?: string;
  /** Epoch ms after which the device code is no longer valid. */
  expiresAt: number;
  intervalSeconds: number;
  /** PKCE (RFC 7636) verifier when the login was started with a code challenge. Secret. */
  codeVerifier?: string;
}

export const DEFAULT_INTERVAL_S = 5;
export const SLOW_DOWN_STEP_S = 5;

/**
 * RFC 8628 §3.1–3.2: ask the issuer for a device code and a user code. With `pkce`, the request
 * carries an S256 code challenge and the polls its verifier (Keycloak clients that enforce PKCE).
 */
export async function startDeviceAuthorization(
  settings: OidcSettings,
  ctx: RequestContext & { clock?: Clock; pkce?: boolean } = {},
): Promise<DeviceAuthorization> {
  const as = await discover(settings, ctx);
  const endpoint = requireEndpoint(as, "device_authorization_endpoint");
  const client = clientFor(settings);
  const now = (ctx.clock ?? systemClock).now();
  const codeVerifier = ctx.pkce ? oauth.generateRandomCodeVerifier() : undefined;
  registerSecret(codeVerifier);
  try {
    const parameters: Record<string, string> = {
      scope: requestedScopes(settings).join(" "),
      ...audienceParameters(settings),
    };
    if (codeVerifier) {
      parameters.code_challenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
      parameters.code_challenge_method = "S256";
    }
    const response = await normalizeDeviceAuthorizationResponse(
      await oauth.deviceAuthorizationRequest(
        as,
        client,
        clientAuth,
        parameters,
        requestOptions(endpoint, ctx),
      ),
      compatOf(settings),
    );
    const answer = await oauth.processDeviceAuthorizationResponse(as, client, response);
    registerSecret(answer.device_code);
    registerSecret(answer.user_code);
    checkVerificationUri(answer.verification_uri, "verification_uri");
    if (answer.verification_uri_complete)
      checkVerificationUri(answer.verification_uri_complete, "verification_uri_complete");
    const auth: DeviceAuthorization = {
      deviceCode: answer.device_code,
      userCode: answer.user_code,
      verificationUri: answer.verification_uri,
      // A lifetime or interval beyond reason (1e15, say) would make the poll loop spin or never end.
      expiresAt: now + Math.min(answer.expires_in, MAX_DEVICE_CODE_LIFETIME_S) * 1000,
      intervalSeconds:
        typeof answer.interval === "number" && answer.interval > 0
          ? Math.min(answer.interval, MAX_DEVICE_POLL_INTERVAL_S)
          : DEFAULT_INTERVAL_S,
    };
    if (answer.verification_uri_complete) auth.verificationUriComplete = answer.verification_uri_complete;
    const message = plainText(answer.message);
    if (message) auth.message = message;
    if (codeVerifier) auth.codeVerifier = codeVerifier;
    return auth;
  } catch (error) {
    // Name the issuer: with the discovery document cached, this is the first request that fails.
    const mapped = toIdpError(error, `Starting the device login at ${settings.issuer}`, ctx.signal);
    const hint = deviceAnswerHint(error);
    throw hint ? new OidcError(mapped.code, mapped.message, { cause: error, hint }) : mapped;
  }
}

/**
 * The page the user is sent to must be https (or http on loopback): a `javascript:`, `file:` or
 * other URL is neither shown nor handed to the browser. The value itself is not quoted.
 */
function checkVerificationUri(value: string, field: string): void {
  const problem = urlProblem(value);
  if (!problem) return;
  // The host of a plain-http URL is not repeated either: it is the IdP's text.
  const why = problem.startsWith("uses plain http")
    ? "uses plain http on a host that is not loopback"
    : problem;
  throw new OidcError(
    ErrorCode.INSECURE_URL,
    `The identity provider's ${field} ${why}; it is not shown or opened.`,
    {
      hint: "The login page must be an https URL. Check the preset's issuer, or ask the IdP's administrator.",
    },
  );
}

export interface PollOptions extends RequestContext {
  clock?: Clock;
  /** Waits between polls; replaceable in unit tests. Must reject when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called after each poll with its outcome (for logs and tests; never carries secrets). */
  onPoll?: (outcome: "pending" | "slow_down" | "transient" | "success", intervalSeconds: number) => void;
}

const sleepFor = (ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : undefined);

/**
 * RFC 8628 §3.4–3.5: poll the token endpoint until the user approves, denies, or the code expires.
 * `slow_down` adds 5 s to every later poll; network trouble keeps polling until the deadline.
 * Never polls again after success (a second poll would revoke the grant at some issuers).
 */
export async function pollDeviceToken(
  settings: OidcSettings,
  auth: DeviceAuthorization,
  options: PollOptions = {},
): Promise<TokenSet> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? sleepFor;
  const as = await discover(settings, options);
  const endpoint = requireEndpoint(as, "token_endpoint");
  const client = clientFor(settings);
  const authentication = tokenEndpointAuth(settings);
  let interval = auth.intervalSeconds;
  for (;;) {
    const wait = Math.min(interval * 1000, Math.max(0, auth.expiresAt - clock.now()));
    try {
      await sleep(wait, options.signal);
    } catch (error) {
      throw new OidcError(ErrorCode.ABORTED, "The device login was cancelled.", { cause: error });
    }
    if (clock.now() >= auth.expiresAt) {
      throw new OidcError(ErrorCode.DEVICE_CODE_EXPIRED, "The device login expired before it was approved.", {
        hint: "Start the login again and approve it within the time shown.",
      });
    }
    try {
      const response = await oauth.deviceCodeGrantRequest(as, client, authentication, auth.deviceCode, {
        ...requestOptions(endpoint, options),
        ...(auth.codeVerifier && { additionalParameters: { code_verifier: auth.codeVerifier } }),
      });
      const tokens = await oauth.processDeviceCodeResponse(as, client, response);
      options.onPoll?.("success", interval);
      return toTokenSet(tokens, clock.now());
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError) {
        if (error.error === "authorization_pending") {
          options.onPoll?.("pending", interval);
          continue;
        }
        if (error.error === "slow_down") {
          interval = Math.min(interval + SLOW_DOWN_STEP_S, MAX_DEVICE_POLL_INTERVAL_S);
          options.onPoll?.("slow_down", interval);
          continue;
        }
        if (error.error === "access_denied") {
          throw new OidcError(ErrorCode.DEVICE_ACCESS_DENIED, "The device login was denied.", {
            hint: "Start the login again and choose to allow access.",
          });
        }
        // Some servers forget an expired device code and then answer invalid_grant.
        const forgotten = error.error === "invalid_grant" && clock.now() > auth.expiresAt - 60_000;
        if (error.error === "expired_token" || forgotten) {
          throw new OidcError(
            ErrorCode.DEVICE_CODE_EXPIRED,
            "The device login expired before it was approved.",
            { hint: "Start the login again and approve it within the time shown." },
          );
        }
      }
      const mapped = toIdpError(error, `The device login at ${settings.issuer}`, options.signal);
      if (isOidcError(mapped, ErrorCode.ABORTED)) throw mapped;
      if (isOidcError(mapped, ErrorCode.IDP_UNAVAILABLE)) {
        options.onPoll?.("transient", interval);
        continue;
      }
      throw new OidcError(ErrorCode.DEVICE_FLOW_FAILED, mapped.message, {
        cause: mapped,
        hint: "Start the login again; if it keeps failing, check the preset's issuer and client id.",
      });
    }
  }
}
