/**
 * Kubernetes object names as the API server accepts them (DNS-1123), so a `--target` or
 * `--namespace` from the command line can neither produce a document the cluster rejects nor break
 * out of the YAML comments it is quoted in (a newline would start a line of YAML of its own).
 */
import { ErrorCode, OidcError } from "../core/errors.js";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Printable form of a rejected value: control characters shown as escapes, long values cut. */
function shown(value: string): string {
  const escaped = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return escaped.replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Throws USAGE unless `value` is a DNS-1123 subdomain (object names: HTTPRoute, SecurityPolicy) or,
 * with `label`, a DNS-1123 label (namespaces). `room` keeps space for suffixes added to the name.
 */
export function assertK8sName(
  value: string,
  what: string,
  option: string,
  { label = false, room = 0 } = {},
): void {
  const max = (label ? 63 : 253) - room;
  if ((label ? LABEL : SUBDOMAIN).test(value) && value.length <= max) return;
  throw new OidcError(ErrorCode.USAGE, `${what} ${shown(value)} is not a valid Kubernetes name.`, {
    hint: `${option} takes lowercase letters, digits and "-"${label ? "" : ' (and "." between parts)'}, starting and ending with a letter or digit, at most ${max} characters.`,
  });
}
