/**
 * Everything a benchmark starts (servers, child processes, temp folders) registers its teardown here,
 * so a failed or interrupted run still leaves nothing behind. Teardowns run newest first.
 */
import type { ChildProcess } from "node:child_process";

type Teardown = { label: string; fn: () => unknown | Promise<unknown> };
const teardowns: Teardown[] = [];
const children = new Set<ChildProcess>();

export function onCleanup(label: string, fn: () => unknown | Promise<unknown>): void {
  teardowns.push({ label, fn });
}

/** Tracks a child process: killed (its whole group if detached) at cleanup if still running. */
export function trackChild(child: ChildProcess, group = false): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  onCleanup(`child ${child.pid}`, () => killChild(child, group));
  return child;
}

/** SIGKILL (the group if detached), then wait up to 2 s for the exit to be observed. */
export async function killChild(child: ChildProcess, group = false): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    setTimeout(resolve, 2000).unref();
  });
  try {
    if (group) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    return;
  }
  await exited;
}

export function liveChildren(): number {
  return [...children].filter((c) => c.exitCode === null && c.signalCode === null).length;
}

export async function cleanupAll(): Promise<string[]> {
  const problems: string[] = [];
  while (teardowns.length > 0) {
    const t = teardowns.pop() as Teardown;
    try {
      await t.fn();
    } catch (error) {
      problems.push(`${t.label}: ${(error as Error).message}`);
    }
  }
  return problems;
}
