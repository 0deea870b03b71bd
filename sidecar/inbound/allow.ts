// Which peers an inbound listener admits: exact SPIFFE IDs, or prefixes written
// `spiffe://td/ns/shop/*` (matching IDs below that path, not the prefix itself).

export type AllowList = (spiffeId: string) => boolean;

export function compileAllowList(patterns: readonly string[]): AllowList {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith('/*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (id) =>
    exact.has(id) || prefixes.some((prefix) => id.startsWith(prefix) && id.length > prefix.length);
}
