import { describe, expect, it } from "vitest";
import { matchesGlob } from "../../src/core/models/glob.js";
import { mergeDetails, parseModelInfo, parseModelList } from "../../src/core/models/parse.js";
import { applyModelSettings, applyRules, filterModels } from "../../src/core/models/settings.js";

describe("model list shapes", () => {
  it("reads OpenAI's list", () => {
    expect(
      parseModelList({
        object: "list",
        data: [{ id: "gpt-4o", object: "model", owned_by: "openai" }, { id: "" }, { nope: 1 }],
      }),
    ).toEqual([{ id: "gpt-4o", ownedBy: "openai" }]);
  });
  it("reads vLLM max_model_len and OpenRouter context_length, top_provider and pricing", () => {
    const models = parseModelList({
      data: [
        { id: "llama", max_model_len: 32768 },
        {
          id: "or/claude",
          context_length: 200000,
          top_provider: { max_completion_tokens: 8192 },
          pricing: { prompt: "0.000003", completion: "0.000015" },
        },
      ],
    });
    expect(models).toEqual([
      { id: "llama", context: 32768 },
      { id: "or/claude", context: 200000, output: 8192, cost: { input: 3, output: 15 } },
    ]);
  });
  it("rejects something that is not a model list", () => {
    expect(() => parseModelList({ models: [] })).toThrow(/OpenAI model list/);
  });
  it("merges LiteLLM /model/info details", () => {
    const info = parseModelInfo({
      data: [
        {
          model_name: "claude",
          model_info: {
            max_input_tokens: 200000,
            max_output_tokens: 64000,
            supports_function_calling: true,
            supports_vision: true,
            supports_reasoning: true,
            input_cost_per_token: 3e-6,
            output_cost_per_token: 1.5e-5,
            cache_read_input_token_cost: 3e-7,
          },
        },
      ],
    });
    expect(mergeDetails([{ id: "claude" }, { id: "other" }], info)).toEqual([
      {
        id: "claude",
        context: 200000,
        output: 64000,
        toolCall: true,
        vision: true,
        reasoning: true,
        cost: { input: 3, output: 15, cache_read: 0.3 },
      },
      { id: "other" },
    ]);
  });
});

describe("preset model settings", () => {
  it("globs match whole ids, * across slashes, ? one character, other characters literally", () => {
    expect(matchesGlob("claude-sonnet-4", "claude-*")).toBe(true);
    expect(matchesGlob("xclaude-sonnet", "claude-*")).toBe(false);
    expect(matchesGlob("gpt-4o", "gpt-4?")).toBe(true);
    expect(matchesGlob("gpt-4o-mini", "gpt-4?")).toBe(false);
    expect(matchesGlob("axb", "a.b")).toBe(false);
    expect(matchesGlob("meta/llama-3", "*/llama*")).toBe(true);
  });
  it("deny wins over allow; an empty allow list allows all", () => {
    const ids = [{ id: "gpt-4o" }, { id: "text-embedding-3" }, { id: "claude-3" }];
    expect(filterModels(ids, { allow: [], deny: ["*embed*"] }).map((m) => m.id)).toEqual([
      "gpt-4o",
      "claude-3",
    ]);
    expect(filterModels(ids, { allow: ["gpt-*", "*embed*"], deny: ["*embed*"] }).map((m) => m.id)).toEqual([
      "gpt-4o",
    ]);
  });
  it("applies matching rules in order, later rules winning field by field, exact ids included", () => {
    const rules = [
      { match: "*", tool_call: true, limit: { context: 8000 } },
      { match: "claude-*", reasoning: true, limit: { output: 4000 } },
      { match: "claude-3", name: "Claude 3", tool_call: false },
    ];
    expect(applyRules("claude-3", { name: "claude-3" }, rules)).toEqual({
      name: "Claude 3",
      tool_call: false,
      reasoning: true,
      limit: { context: 8000, output: 4000 },
    });
    expect(applyRules("gpt-4o", { name: "gpt-4o" }, rules)).toEqual({
      name: "gpt-4o",
      tool_call: true,
      limit: { context: 8000, output: 0 },
    });
  });
  it("maps discovered metadata to OpenCode fields and lets the preset override it", () => {
    const out = applyModelSettings(
      [{ id: "m", context: 1000, output: 100, vision: true, toolCall: false, cost: { input: 1, output: 2 } }],
      {
        allow: [],
        deny: [],
        rules: [{ match: "m", limit: { output: 50 } }],
      },
    );
    expect(out).toEqual({
      m: {
        name: "m",
        limit: { context: 1000, output: 50 },
        tool_call: false,
        attachment: true,
        modalities: { input: ["text", "image"], output: ["text"] },
        cost: { input: 1, output: 2 },
      },
    });
  });
});
