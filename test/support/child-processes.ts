/** Child processes whose output the test reads as it arrives (to react to a URL, a "ready" line, ...). */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ChildRun {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  private waiters: Array<() => void> = [];

  constructor(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }) {
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: "pipe" });
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => this.append("stdout", chunk));
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => this.append("stderr", chunk));
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("close", (code, signal) => {
        this.notify();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  private append(stream: "stdout" | "stderr", chunk: string): void {
    this[stream] += chunk;
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first match of `pattern` in the stream; rejects if the process exits first. */
  async waitFor(pattern: RegExp, stream: "stdout" | "stderr" = "stderr"): Promise<RegExpMatchArray> {
    for (;;) {
      const match = pattern.exec(this[stream]);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `process exited (${this.child.exitCode ?? this.child.signalCode}) before ${pattern} appeared on ${stream}:\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** Runs a command to completion. */
export function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): Promise<Exit> {
  return new ChildRun(command, args, options).exited;
}
