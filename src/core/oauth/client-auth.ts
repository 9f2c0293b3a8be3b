import { createPrivateKey, webcrypto } from "node:crypto";
import * as oauth from "oauth4webapi";
import { ErrorCode, OidcError } from "../errors.js";
import { ID_TOKEN_CLOCK_TOLERANCE_S } from "./client.js";

/** How a confidential client proves who it is at the token endpoint. */
export type ClientAuthentication =
  | { method: "none" }
  | { method: "client_secret_basic" | "client_secret_post"; secret: string }
  | { method: "private_key_jwt"; key: CryptoKey; kid?: string }
  /** RFC 7523 §2.2 with an assertion made elsewhere (a workload identity token). */
  | { method: "client_assertion"; assertion: string };

export function confidentialClient(clientId: string, auth: ClientAuthentication): oauth.Client {
  const method = auth.method === "client_assertion" ? "private_key_jwt" : auth.method;
  return {
    client_id: clientId,
    token_endpoint_auth_method: method,
    [oauth.clockTolerance]: ID_TOKEN_CLOCK_TOLERANCE_S,
  };
}

const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** oauth4webapi's client authentication for each method. */
export function clientAuthFor(auth: ClientAuthentication): oauth.ClientAuth {
  switch (auth.method) {
    case "none":
      return oauth.None();
    case "client_secret_basic":
      return oauth.ClientSecretBasic(auth.secret);
    case "client_secret_post":
      return oauth.ClientSecretPost(auth.secret);
    case "private_key_jwt":
      return oauth.PrivateKeyJwt(auth.kid ? { key: auth.key, kid: auth.kid } : auth.key);
    case "client_assertion": {
      // oauth4webapi signs its own assertions only; a ready-made one (signed by a workload identity
      // issuer) goes through its ClientAuth extension point with the same parameters PrivateKeyJwt sets.
      const { assertion } = auth;
      return (_as, client, body) => {
        body.set("client_id", client.client_id);
        body.set("client_assertion_type", JWT_BEARER_ASSERTION);
        body.set("client_assertion", assertion);
      };
    }
  }
}

type Jwk = webcrypto.JsonWebKey & { kid?: string; alg?: string };

/** WebCrypto import parameters for a private JWK: RS256, PS256, ES256/384/512, EdDSA (Ed25519). */
function algorithmFor(
  jwk: Jwk,
): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | { name: string } {
  if (jwk.kty === "RSA") {
    const alg = jwk.alg ?? "RS256";
    const hash = `SHA-${alg.slice(2) || "256"}`;
    return { name: alg.startsWith("PS") ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash };
  }
  if (jwk.kty === "EC" && jwk.crv) return { name: "ECDSA", namedCurve: jwk.crv };
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return { name: "Ed25519" };
  throw new Error(`unsupported key type ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""}`);
}

/**
 * A private signing key from a PEM (PKCS#8, PKCS#1 or SEC1) or a JWK (or a JWKS with one key), for
 * `private_key_jwt`. `source` names where it came from in the error (never the key itself).
 */
export async function importPrivateKey(
  text: string,
  source: string,
): Promise<{ key: CryptoKey; kid?: string }> {
  const trimmed = text.trim();
  // Reasons are fixed texts: parser messages can quote the input, which is a secret here.
  let jwk: Jwk;
  if (trimmed.startsWith("{")) {
    let parsed: Jwk & { keys?: Jwk[] };
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw keyError(source, "it starts like a JWK but is not valid JSON");
    }
    const picked = Array.isArray(parsed.keys) ? parsed.keys.find((k) => k.d !== undefined) : parsed;
    if (!picked?.d) throw keyError(source, "the JWK has no private part (d)");
    jwk = picked;
  } else {
    try {
      jwk = createPrivateKey(trimmed).export({ format: "jwk" }) as Jwk;
    } catch {
      throw keyError(source, "it is neither a private key in PEM form nor a JWK");
    }
  }
  let params: ReturnType<typeof algorithmFor>;
  try {
    params = algorithmFor(jwk);
  } catch (error) {
    throw keyError(source, (error as Error).message);
  }
  try {
    const key = (await webcrypto.subtle.importKey("jwk", jwk, params, false, ["sign"])) as CryptoKey;
    return jwk.kid ? { key, kid: jwk.kid } : { key };
  } catch {
    throw keyError(source, `the ${jwk.kty} key cannot be imported for signing`);
  }
}

function keyError(source: string, reason: string): OidcError {
  return new OidcError(
    ErrorCode.MACHINE_IDENTITY_INVALID,
    `The private key in ${source} cannot be used: ${reason}.`,
    {
      hint: "It must be a private key in PEM (PKCS#8, PKCS#1 or EC) or a private JWK: RSA, EC P-256/384/521 or Ed25519.",
    },
  );
}
