/** How CRD rules are evaluated: where, on what value, and what is skipped (synthetic schemas). */
import { describe, expect, it } from "vitest";
import { celRuleIssues, unparsableRules } from "../../src/gateway/cel-rules.js";
import { httpRouteFilterSchema, securityPolicySchema } from "../../src/gateway/generated/crds.js";

const schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      "x-kubernetes-validations": [
        { rule: "self.min <= self.max", message: "min must not exceed max" },
        { rule: "self.max == oldSelf.max", message: "max is immutable" },
        { rule: "self.mode != 'Off'", messageExpression: "'mode ' + self.mode + ' is not allowed'" },
        { rule: "!has(self.extra)", fieldPath: ".extra" },
      ],
      properties: {
        min: { type: "integer" },
        max: { type: "integer" },
        mode: { type: "string", default: "On" },
        extra: { type: "string" },
        items: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: {
            type: "object",
            properties: { name: { type: "string" }, kind: { type: "string", default: "A" } },
            "x-kubernetes-validations": [{ rule: "self.kind in ['A', 'B']", message: "kind must be A or B" }],
          },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
      },
    },
  },
};

describe("celRuleIssues", () => {
  it("passes a valid document: defaults filled in first, transition rules (oldSelf) skipped", () => {
    expect(
      celRuleIssues(schema, { spec: { min: 1, max: 2, items: [{ name: "a" }], tags: ["x", "y"] } }),
    ).toEqual([]);
  });

  it("reports each broken rule at the node that declares it, with the rule's message", () => {
    expect(
      celRuleIssues(schema, {
        spec: { min: 3, max: 2, mode: "Off", extra: "x", items: [{ name: "a", kind: "C" }] },
      }),
    ).toEqual([
      { path: "spec", message: "min must not exceed max" },
      { path: "spec", message: "mode Off is not allowed" },
      { path: "spec.extra", message: "failed rule: !has(self.extra)" },
      { path: "spec.items[0]", message: "kind must be A or B" },
    ]);
  });

  it("compares integers as CEL ints and reports a rule that cannot be evaluated", () => {
    expect(celRuleIssues(schema, { spec: { min: 2, max: 2 } })).toEqual([]);
    expect(celRuleIssues(schema, { spec: { max: 2 } })).toEqual([
      {
        path: "spec",
        message: expect.stringMatching(/^min must not exceed max \(the rule cannot be evaluated here: .*min/),
      },
    ]);
  });

  it("rejects duplicates in list-type map and set lists", () => {
    expect(
      celRuleIssues(schema, {
        spec: { min: 1, max: 1, items: [{ name: "a" }, { name: "a", kind: "B" }], tags: ["x", "x"] },
      }),
    ).toEqual([
      { path: "spec.items[1]", message: expect.stringContaining("same name") },
      { path: "spec.tags[1]", message: expect.stringContaining("duplicate value") },
    ]);
  });

  it("parses every rule of both vendored CRDs", () => {
    expect(unparsableRules(securityPolicySchema)).toEqual([]);
    expect(unparsableRules(httpRouteFilterSchema)).toEqual([]);
    expect(unparsableRules({ "x-kubernetes-validations": [{ rule: "self.a ==" }] })).toHaveLength(1);
  });

  it("evaluates the CRD's rules on a policy that reaches many of them (durations, upperAscii, all, in)", () => {
    const policy = (timeout: string, method: string) => ({
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "r" }],
        jwt: {
          providers: [
            {
              name: "p",
              remoteJWKS: {
                uri: "https://idp/keys",
                backendSettings: {
                  http2: { connectionKeepalive: { timeout, interval: "10s" } },
                  loadBalancer: { type: "RoundRobin" },
                  healthCheck: {
                    active: {
                      type: "HTTP",
                      http: { path: "/", method, requestBody: { type: "Text", text: "x" } },
                    },
                  },
                },
              },
            },
          ],
        },
        authorization: { rules: [{ action: "Allow", principal: { jwt: { provider: "p", scopes: ["a"] } } }] },
      },
    });
    expect(celRuleIssues(securityPolicySchema, policy("1s", "post"))).toEqual([]);
    const p = "spec.jwt.providers[0].remoteJWKS.backendSettings";
    expect(celRuleIssues(securityPolicySchema, policy("1m", "get"))).toEqual([
      { path: `${p}.http2.connectionKeepalive`, message: "timeout must be less than interval" },
      {
        path: `${p}.healthCheck.active.http`,
        message: "The requestBody field can only be set when method is POST or PUT.",
      },
    ]);
  });
});
