import { spawn } from 'node:child_process';

// The one way Hangar starts a short-lived program and waits for it: an argument array
// (never a shell), a time limit, and everything it printed kept for the error message.

export interface RunResult {
  /** Exit code, or null when the program was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (not found, not executable). */
  spawnError?: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Written to the program's standard input, which is then closed. */
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Keeps at most this many bytes of each output stream. */
  maxOutputBytes?: number;
}

export function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { input, timeoutMs = 30_000, env, maxOutputBytes = 1024 * 1024 } = options;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (result: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, stdout, stderr, timedOut });
    };
    const child = spawn(file, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < maxOutputBytes) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < maxOutputBytes) stderr += chunk;
    });
    child.on('error', (error) => finish({ code: null, signal: null, spawnError: error.message }));
    child.on('close', (code, signal) => finish({ code, signal }));
    // A program that exits before reading its input must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}
