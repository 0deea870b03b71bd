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
