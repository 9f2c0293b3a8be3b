/** The doctor's report: one entry per check, with what was found and what to do. No secret goes in. */
import { plainText } from "../../core/plain-text.js";
import type { FetchLike } from "../../core/ports.js";

export type CheckStatus = "pass" | "warn" | "fail";

export interface Check {
  /** Stable id: preset, discovery, grants, jwks, gateway, token, clock, store. */
  id: string;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** Further facts, one per line (layers, values, offsets). */
  details?: string[];
  /** What to do about a warning or a failure. */
  fix?: string;
}

export interface DoctorReport {
  /** The preset checked, or null when none could be resolved. */
  preset: string | null;
  checks: Check[];
  counts: Record<CheckStatus, number>;
  /** True when no check failed (the command's exit code is 0). */
  ok: boolean;
  ms: number;
}

export const pass = (id: string, summary: string, details?: string[]): Check => ({
  id,
  status: "pass",
  summary,
  ...(details?.length && { details }),
});
export const warn = (id: string, summary: string, fix: string, details?: string[]): Check => ({
  id,
  status: "warn",
  summary,
  fix,
  ...(details?.length && { details }),
});
export const fail = (id: string, summary: string, fix: string, details?: string[]): Check => ({
  id,
  status: "fail",
  summary,
  fix,
  ...(details?.length && { details }),
});

/** Text from a server, made safe for a terminal and a ticket (core/plain-text.ts), at most `max` characters. */
export function printable(value: unknown, max = 200): string {
  const text = plainText(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))) ?? "";
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A server's `Date` header next to the local clock before and after the request. */
export interface DateSample {
  source: "idp" | "gateway";
  url: string;
  /** Local epoch ms when the request was sent and when the answer's headers came. */
  sentAt: number;
  receivedAt: number;
  /** The server's `Date` (epoch ms, 1 s resolution), or undefined when it sent none. */
  serverAt?: number;
}

/** A fetch that notes each answer's `Date` header (the clock check reads them). */
export function sampledFetch(
  base: FetchLike,
  source: DateSample["source"],
  samples: DateSample[],
): FetchLike {
  return async (input, init) => {
    const sentAt = Date.now();
    const response = await base(input, init);
    const receivedAt = Date.now();
    const header = response.headers.get("date");
    const parsed = header ? Date.parse(header) : Number.NaN;
    const url = input instanceof Request ? input.url : String(input);
    samples.push({
      source,
      url: url.replace(/[?#].*$/, ""),
      sentAt,
      receivedAt,
      ...(Number.isFinite(parsed) && { serverAt: parsed }),
    });
    return response;
  };
}
