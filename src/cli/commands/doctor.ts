import { redact } from "../../core/redact.js";
import { opencodeApiKeySource } from "../../opencode/auth-file.js";
import { type Check, type DoctorReport, runDoctor } from "../../tenant/doctor/doctor.js";
import { type Command, PRESET_OPTION } from "../command.js";
import { out } from "../io.js";

const LABEL = { pass: "PASS", warn: "WARN", fail: "FAIL" } as const;

/** The report as a person reads it (and pastes it into a ticket). */
export function renderReport(report: DoctorReport, now = new Date()): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const indent = " ".repeat(6 + width + 2);
  const indented = (text: string) => text.split("\n").map((line) => `${indent}${line}`);
  const block = (check: Check) => [
    `${LABEL[check.status]}  ${check.id.padEnd(width)}  ${check.summary}`,
    ...(check.details ?? []).flatMap(indented),
    ...(check.fix && check.status !== "pass" ? indented(`→ ${check.fix}`) : []),
  ];
  const { pass, warn, fail } = report.counts;
  return [
    `opencode-oidc doctor: preset ${report.preset ?? "(none)"}, ${now.toISOString()}, node ${process.version} ${process.platform}-${process.arch}, ${report.ms} ms`,
    "",
    ...report.checks.flatMap(block),
    "",
    `${report.checks.length} check${report.checks.length === 1 ? "" : "s"}: ${pass} pass, ${warn} warn, ${fail} fail`,
  ].join("\n");
}

export const doctor: Command = {
  name: "doctor",
  usage: "doctor [--preset ID] [--json]",
  summary:
    "Check a preset end to end (configuration, issuer, grants, JWKS, gateway, stored login, clock, token store), each with pass/warn/fail and what to do. No secret is printed. Exit 0 when nothing fails.",
  options: { ...PRESET_OPTION, json: { type: "boolean", description: "Print the report as JSON" } },
  async run(ctx) {
    const report = await runDoctor({
      resolve: { cwd: ctx.cwd },
      tenant: { env: ctx.env, apiKeySources: [opencodeApiKeySource] },
      ...(typeof ctx.values.preset === "string" && { preset: ctx.values.preset }),
    });
    // A last safety net: anything registered as a secret or shaped like one is removed.
    out(redact(ctx.values.json ? JSON.stringify(report, null, 2) : renderReport(report)));
    return report.ok ? 0 : 1;
  },
};
