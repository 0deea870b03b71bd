// pino lines from a child process's stdout, as the test helpers read them while it runs.

/**
 * Parses the complete lines of `stdout` that hold JSON. The text after the last newline is
 * still being written (a pipe delivers a line in several chunks) and is left for the next call.
 */
export function parseLogLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n');
  lines.pop();
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

type LogLine = Record<string, unknown>;

/**
 * Resolves with the first log line matching `pred`, polling `logs` until `timeoutMs`. A child
 * process's log line can reach the test after the HTTP/gRPC answer it accompanies (the two travel
 * on different pipes), so a test that asserts a line exists must wait for it, not read once.
 */
export async function waitForLogLine(
  logs: () => LogLine[],
  pred: (l: LogLine) => boolean,
  timeoutMs = 5_000,
): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logs().find(pred);
    if (hit) return hit;
    if (Date.now() >= deadline) throw new Error(`no matching log line within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
