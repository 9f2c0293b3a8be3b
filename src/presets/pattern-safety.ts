import { isSafePattern } from "redos-detector";
import { PATTERN_CHECK } from "../core/defaults.js";

/**
 * Why a preset's regular expression could backtrack catastrophically (`^([a-z0-9-]+)+!$` took 5.4 s
 * on a 27-character key), or undefined when it is safe. Uses redos-detector, which follows every way
 * the pattern could match a string; a pattern too complex to decide within the budget counts as
 * unsafe. Loaded only while a configuration that sets such a pattern is validated.
 */
export function patternSafetyProblem(pattern: string): string | undefined {
  let result: ReturnType<typeof isSafePattern>;
  try {
    result = isSafePattern(pattern, {
      maxScore: PATTERN_CHECK.maxScore,
      maxSteps: PATTERN_CHECK.maxSteps,
      timeout: PATTERN_CHECK.timeoutMs,
    });
  } catch (error) {
    return `cannot be checked for catastrophic backtracking (${(error as Error).message})`;
  }
  if (result.safe) return undefined;
  if (!result.score.infinite && (result.error === "hitMaxSteps" || result.error === "timedOut"))
    return "is too complex to check for catastrophic backtracking; write a simpler one";
  return "can backtrack catastrophically (a repetition whose parts can match the same text in more than one way, like `(a+)+` or `[a-z]+[a-z]+`); write it so that each character can match only one way";
}
