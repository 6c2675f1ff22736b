/**
 * `HOST:PORT` as the config writes it (`listen`, sentinel and cluster nodes,
 * Redis' MOVED answers) and URL host names, IPv6 included, parsed once.
 */

/** A host name as `URL.hostname` gives it, without IPv6's brackets (`[::1]` → `::1`). */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Splits `HOST:PORT` at its last colon: `10.0.0.1:7000`, `[::1]:7001` (the
 * brackets are removed), and `::1:7002` as Redis announces IPv6 nodes.
 * @returns the host and the port number
 * @throws Error when there is no host before the last colon
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new Error(`"${text}" is not HOST:PORT`);
  return { host: unbracket(text.slice(0, i)), port: Number(text.slice(i + 1)) };
}
