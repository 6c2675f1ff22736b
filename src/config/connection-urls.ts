/**
 * Checks of connection strings and listen addresses the schema's regexes
 * cannot make: whatever start-up would reject (the URL parsers of
 * `redis/` and `collect/mysql.ts`, `listen()`), the loader rejects first,
 * with the key path and line, so `check-config` never calls a config valid
 * that then crashes at start (issue 10 #7).
 *
 * Messages never quote the URL: it may carry a password.
 */
import { isIP } from 'node:net';

/** The WHATWG URL parse of `text`, or undefined. */
function tryUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Whether percent-decoding `text` succeeds (`%ZZ` and a lone `%` do not). */
function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the port in `authority` (`host:port` as written) is unusable, or undefined.
 * The WHATWG parser rejects a port above 65535 as "Invalid URL"; saying which
 * part is wrong helps more.
 */
function portProblem(authority: string): string | undefined {
  const m = /:(\d*)$/.exec(authority.replace(/^.*@/, '').replace(/^\[[^\]]*\]/, ''));
  if (!m || m[1] === undefined || m[1] === '') return undefined;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? undefined : 'port must be between 1 and 65535';
}

/** The authority (`user:pass@host:port`) of `scheme://authority/...` as written. */
function authorityOf(text: string): string {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1] ?? '';
}

function credentialProblem(u: URL): string | undefined {
  if (!decodes(u.username)) return 'the username is not valid percent-encoding (write a literal % as %25)';
  if (!decodes(u.password)) return 'the password is not valid percent-encoding (write a literal % as %25)';
  return undefined;
}

/**
 * Why `redis[s]://[[user]:password@]host[:port][/db]` cannot be connected
 * to, or undefined when it can. Mirrors `parseRedisUrl` (`redis/`): the
 * database is a non-negative integer from the path or `?db=`.
 */
export function redisUrlProblem(text: string): string | undefined {
  const port = portProblem(authorityOf(text));
  if (port) return port;
  const u = tryUrl(text);
  if (!u) return 'is not a valid URL (redis[s]://[user:password@]host[:port][/db])';
  const cred = credentialProblem(u);
  if (cred) return cred;
  if (u.port === '0') return 'port must be between 1 and 65535';
  const path = u.pathname.replace(/^\//, '');
  const db = path !== '' ? path : (u.searchParams.get('db') ?? '0');
  if (!/^\d{1,9}$/.test(db)) return 'the database must be a number like /0';
  const pw = u.searchParams.get('password');
  if (pw !== null && pw === '') return 'the ?password= parameter is empty';
  return undefined;
}

/**
 * Why `mysql://user:password@host[:port]/[db]` cannot be connected to, or
 * undefined when it can. Mirrors `parseMysqlTarget` (`collect/mysql.ts`).
 */
export function mysqlUrlProblem(text: string): string | undefined {
  const port = portProblem(authorityOf(text));
  if (port) return port;
  const u = tryUrl(text);
  if (!u) return 'is not a valid URL (mysql://user:password@host[:port]/)';
  const cred = credentialProblem(u);
  if (cred) return cred;
  if (u.port === '0') return 'port must be between 1 and 65535';
  if (!decodes(u.pathname.replace(/^\//, ''))) return 'the database name is not valid percent-encoding';
  return undefined;
}

// RFC 1123 host names: labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Why the host of `HOST:PORT` (`listen`, Sentinel / Cluster nodes) can never
 * be listened on or connected to, or undefined. An all-numeric name must be
 * an IPv4 address (`999.1.1.1` is neither an address nor a host name: the
 * resolver fails and start-up exits); a bracketed one must be IPv6.
 * Whether a host name resolves is left to start-up (DNS may change).
 */
export function hostProblem(hostPort: string): string | undefined {
  const idx = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, idx);
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6 ? undefined : 'the host in brackets must be an IPv6 address';
  if (/^[\d.]+$/.test(host)) return isIP(host) === 4 ? undefined : `"${host}" is not a valid IPv4 address`;
  return HOST_NAME.test(host) ? undefined : `"${host}" is not a valid host name or address`;
}
