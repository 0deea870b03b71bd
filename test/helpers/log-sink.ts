// A log sink over the integration suite: every child process the helpers start (CA, sidecars,
// CLI stderr) registers its output here; log-sink-setup.ts scans it after each test file for
// secrets — private keys, join tokens, bearer tokens / JWTs, Authorization headers — and fails
// the file naming the process and the offending line (with the secret itself masked).
interface Source {
  readonly name: string;
  readonly output: () => string;
}

const sources: Source[] = [];

/** Registers a process's combined output for the end-of-file scan. */
export function registerOutput(name: string, output: () => string): void {
  sources.push({ name, output });
}

export const SECRET_PATTERNS: readonly { what: string; re: RegExp }[] = [
  { what: 'private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: 'join token', re: /tjt_[A-Za-z0-9_-]{16,}/ },
  {
    what: 'JWT (bearer or access token)',
    re: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/,
  },
  { what: 'Bearer credential', re: /Bearer\s+(?!error=)[A-Za-z0-9._~+/-]{16,}/ },
  { what: 'Authorization header value', re: /"authorization"\s*:\s*"(?!\[redacted\])[^"]+"/i },
  { what: 'PKCS#12 or key passphrase field', re: /"(passphrase|password)"\s*:\s*"(?!\[redacted\])[^"]+"/i },
];

/** Lines of `text` that contain a secret, with the match masked. */
export function findSecrets(text: string): string[] {
  const hits: string[] = [];
  for (const line of text.split('\n')) {
    for (const { what, re } of SECRET_PATTERNS) {
      const m = re.exec(line);
      if (m) hits.push(`${what}: ${line.replace(m[0], `${m[0].slice(0, 12)}…`).slice(0, 300)}`);
    }
  }
  return hits;
}

/** Scans everything registered so far and forgets it; returns the leaks found. */
export function drainLeaks(): string[] {
  const leaks = sources.flatMap((s) => findSecrets(s.output()).map((h) => `${s.name}: ${h}`));
  sources.length = 0;
  return leaks;
}
