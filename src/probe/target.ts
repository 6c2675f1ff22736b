/**
 * The `target` of `GET /probe`: which Redis to scrape, checked before any
 * connection is made. Credentials never come from the request: a target with
 * `user:password@`, or with a query string (ioredis reads `?password=` from
 * URLs), is refused; they come from `modules.<name>.redis` only.
 */

/** A validated probe target. */
export interface ProbeTarget {
  /** Normalised connection URL without credentials: `redis://host:port/db` (or `rediss://`). */
  readonly url: string;
  /** `host:port` as the allow-list sees it (host lowercased, IPv6 in brackets). */
  readonly hostPort: string;
  /** database number from the URL path (default 0) */
  readonly db: number;
}

/** A probe request refused before connecting; `statusCode` is the HTTP answer (400 bad request, 403 not allowed). */
export class ProbeRequestError extends Error {
  override readonly name = 'ProbeRequestError';
  constructor(
    readonly statusCode: 400 | 403 | 503,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_PORT = 6379;

/**
 * Parses `redis://host[:port][/db]`, `rediss://…`, or a bare `host:port`
 * (what Prometheus' `__address__` holds) into a {@link ProbeTarget}.
 * @throws ProbeRequestError (400) for another scheme, credentials, a query
 *   string or fragment, a missing host, a bad port or db. The message quotes
 *   the target only when it holds no credentials.
 */
export function parseTarget(raw: string): ProbeTarget {
  const text = raw.trim();
  if (text === '') throw new ProbeRequestError(400, 'target is empty');
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `redis://${text}`;
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(withScheme)?.[1] ?? '';
  if (authority.includes('@')) {
    throw new ProbeRequestError(400, 'credentials in the probe target are refused: put them in the module\'s redis.username / redis.password');
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProbeRequestError(400, `target "${text}" is not a URL like redis://host:6379/0`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ProbeRequestError(400, `target scheme must be redis:// or rediss://, not ${url.protocol}//`);
  }
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) {
    throw new ProbeRequestError(400, 'probe targets take no query string or fragment (connection options come from the module)');
  }
  const host = url.hostname.toLowerCase();
  if (host === '') throw new ProbeRequestError(400, `target "${text}" has no host`);
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProbeRequestError(400, `target "${text}" has a bad port`);
  const path = url.pathname;
  let db = 0;
  if (path !== '' && path !== '/') {
    const m = /^\/(\d{1,5})$/.exec(path);
    if (!m) throw new ProbeRequestError(400, `target "${text}": the path must be a database number like /0`);
    db = Number(m[1]);
  }
  const hostPort = `${host}:${port}`;
  return { url: `${url.protocol}//${hostPort}/${db}`, hostPort, db };
}

/**
 * A `host:port` glob as an anchored, case-insensitive RegExp: `*` is any run
 * of characters and `?` one character, but neither ever crosses a `.` or a
 * `:`, so `10.0.0.*:6379` admits `10.0.0.7:6379` and never
 * `10.0.0.1.evil.example:6379`, and `cache-*:*` never spans the port. Every
 * other character is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^.:]*';
    else if (ch === '?') re += '[^.:]';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/**
 * Whether `allow` (host:port globs, see {@link globToRegExp}) admits
 * `target`'s `host:port` as written in the target (DNS is not consulted).
 * An empty list admits nothing: `/probe` is closed until an operator says
 * where it may connect.
 */
export function targetAllowed(target: ProbeTarget, allow: readonly string[]): boolean {
  return allow.some((glob) => globToRegExp(glob).test(target.hostPort));
}

/** What {@link probeRefusal} needs of a module: its own allow-list and whether it carries credentials. */
export interface ProbeModuleScope {
  readonly allowTargets?: readonly string[] | undefined;
  readonly redis: {
    readonly username: string;
    readonly password?: string | undefined;
    readonly tls: { readonly cert: string; readonly key: string };
  };
}

/** Whether a module would send anything secret to a target: an ACL user, a password or a TLS client certificate. */
export function moduleHasCredentials(mod: ProbeModuleScope): boolean {
  return mod.redis.username !== '' || (mod.redis.password ?? '') !== '' || mod.redis.tls.cert !== '' || mod.redis.tls.key !== '';
}

/**
 * Why `/probe` must not connect to `target` with module `moduleName`, or
 * `undefined` when it may. A target must match `probe.allowTargets` (empty:
 * nothing is allowed) and, when the module has `allowTargets` of its own,
 * that list too. A module that carries credentials must have its own list:
 * its password only ever goes to the targets it names, never to any other
 * host the global list happens to admit.
 *
 * @returns a message for the 403 answer (names keys, never a secret).
 */
export function probeRefusal(target: ProbeTarget, globalAllow: readonly string[], moduleName: string, mod: ProbeModuleScope): string | undefined {
  if (globalAllow.length === 0) return 'probing is off: list the targets it may connect to in probe.allowTargets (host:port globs)';
  if (!targetAllowed(target, globalAllow)) return `target ${target.hostPort} is not in probe.allowTargets`;
  if (mod.allowTargets === undefined || mod.allowTargets.length === 0) {
    if (moduleHasCredentials(mod)) return `module "${moduleName}" carries credentials: list the targets they may be sent to in modules.${moduleName}.allowTargets`;
    return undefined;
  }
  if (!targetAllowed(target, mod.allowTargets)) return `target ${target.hostPort} is not in modules.${moduleName}.allowTargets`;
  return undefined;
}
