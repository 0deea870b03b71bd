// host:port parsing for every listener and client address, CA and sidecar alike.

/** Splits `host:port` / `[v6]:port` (brackets removed from the host). */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}
