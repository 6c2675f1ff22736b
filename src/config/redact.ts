/**
 * Showing configuration without its secrets: the effective config printed by
 * `queuescope check-config`, and connection strings in log lines.
 *
 * Redaction errs on the side of hiding too much: a malformed URL whose
 * credentials cannot be told apart from its host loses more than the password
 * rather than leaking part of it.
 */
import { Document, isMap, isScalar, visit } from 'yaml';
import { formatDuration } from './durations.js';
import { DEFAULT_DISCOVERY, type ComponentConfig, type Config, type DiscoverConfig, type QueueConfig } from './schema.js';

/** What every secret is replaced with. */
export const SECRET_PLACEHOLDER = '<secret>';

/** Query parameters whose values are credentials: DingTalk `access_token`, WeCom `key`, ioredis `?password=`, signatures. */
const SECRET_QUERY_KEYS = /^(access_token|accesstoken|token|key|apikey|api_key|secret|sign|signature|password|pass|passwd|pwd|auth)$/i;

/** Config fields whose whole value is a secret. */
const SECRET_FIELDS = new Set(['password', 'secret', 'bearerToken']);

// Schemes whose URLs never legitimately carry '@' outside the credentials, so
// any '@' marks the end of (possibly malformed) credentials.
const CONNECTION_SCHEMES = /^(redis|rediss|mysql|mysqlx|mariadb)$/i;

function redactQuery(text: string): string {
  const q = text.indexOf('?');
  if (q < 0) return text;
  const query = text.slice(q).replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (whole, sep: string, key: string) => {
    let name = key;
    try {
      name = decodeURIComponent(key);
    } catch {
      // keep the raw name
    }
    return SECRET_QUERY_KEYS.test(name) ? `${sep}${key}=${SECRET_PLACEHOLDER}` : whole;
  });
  return text.slice(0, q) + query;
}

/**
 * Replaces the secret parts of a URL with `<secret>`, keeping the rest as
 * written (no normalisation), for logs and `check-config`:
 *
 * - the password of `scheme://user:password@host` (`redis://:<secret>@host:6379/0`,
 *   `mysql://user:<secret>@host/`); a username alone is kept;
 * - the values of credential query parameters (`access_token`, `key`, `token`,
 *   `secret`, `sign`, `password`, …):
 *   `https://oapi.dingtalk.com/robot/send?access_token=<secret>`.
 *
 * Text that is not a URL is returned with only the query rule applied.
 * Never throws.
 */
export function redactUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^]*)$/.exec(url);
  if (!m) return redactQuery(url);
  const scheme = m[1] as string;
  const rest = m[2] as string;

  // Where the credentials end: WHATWG (what ioredis, mysql2 and undici use)
  // takes the last '@' before the first '/', '?' or '#'.
  // For connection URLs any '@' ends the credentials instead: a password with
  // an unencoded '@', '/', '?' or '#' makes WHATWG split it somewhere inside,
  // and the rest of the password would be shown as host, path or query.
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = CONNECTION_SCHEMES.test(scheme) ? rest.lastIndexOf('@') : authority.lastIndexOf('@');
  if (at < 0) return `${scheme}://${redactQuery(rest)}`;

  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const shownUser = colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:${SECRET_PLACEHOLDER}`;
  return `${scheme}://${shownUser}@${redactQuery(rest.slice(at + 1))}`;
}

/** Replaces secret fields and the secret parts of URL-valued strings, recursively. */
function redactValue(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_FIELDS.has(key)) return value === '' ? value : SECRET_PLACEHOLDER;
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, undefined));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k);
    return out;
  }
  return value;
}

function rateLimitText(limit: Config['notify']['rateLimit']): string {
  switch (limit.windowMs) {
    case 1000:
      return `${limit.count}/s`;
    case 60_000:
      return `${limit.count}/min`;
    case 3_600_000:
      return `${limit.count}/hour`;
    default:
      return `${limit.count}/${formatDuration(limit.windowMs)}`;
  }
}

function queueOut(q: QueueConfig): Record<string, unknown> {
  // name, type, key first: the order config.md writes them in.
  const { name, type, key, ...rest } = q;
  const out: Record<string, unknown> = { name, type, key, ...rest, latencyThreshold: formatDuration(q.latencyThreshold) };
  if (q.type === 'list') out.windows = q.windows.map(formatDuration);
  return out;
}

function discoverOut(d: DiscoverConfig): Record<string, unknown> {
  return { ...d, latencyThreshold: formatDuration(d.latencyThreshold) };
}

function componentOut(c: ComponentConfig): Record<string, unknown> {
  return { ...c, staleAfter: formatDuration(c.staleAfter) };
}

/** The config as YAML-ready data: durations as strings, key order as in config.md. */
function toDisplay(config: Config): Record<string, unknown> {
  const modules: Record<string, unknown> = {};
  for (const [name, mod] of Object.entries(config.modules)) {
    modules[name] = {
      queues: mod.queues.map(queueOut),
      discover: mod.discover.map(discoverOut),
      components: mod.components.map(componentOut),
      redis: mod.redis,
    };
  }
  return {
    listen: config.listen,
    logLevel: config.logLevel,
    ui: { ...config.ui, rateWindow: formatDuration(config.ui.rateWindow) },
    auth: config.auth,
    scrape: {
      ...config.scrape,
      timeout: formatDuration(config.scrape.timeout),
      cacheFor: formatDuration(config.scrape.cacheFor),
      discoveryInterval: formatDuration(config.scrape.discoveryInterval),
    },
    redis: {
      ...config.redis,
      connectTimeout: formatDuration(config.redis.connectTimeout),
      commandTimeout: formatDuration(config.redis.commandTimeout),
    },
    mysql: config.mysql && { ...config.mysql, timeout: formatDuration(config.mysql.timeout) },
    queues: config.queues.map(queueOut),
    discover: (config.discover ?? DEFAULT_DISCOVERY).map(discoverOut),
    components: config.components.map(componentOut),
    modules,
    probe: config.probe,
    notify: {
      ...config.notify,
      rateLimit: rateLimitText(config.notify.rateLimit),
      timeout: formatDuration(config.notify.timeout),
    },
  };
}

/**
 * The effective configuration as YAML, for `queuescope check-config`:
 * every key with its default filled in, durations written back as strings
 * (`5s`, `500ms`, `1m`), `notify.rateLimit` as `20/min`, and every secret as
 * `<secret>` (passwords, signing secrets, bearer tokens, the password part of
 * Redis / MySQL URLs, robot URLs' `access_token` / `key`). When `discover` is
 * absent the built-in discovery list is shown, marked by a comment.
 *
 * The output parses back as a valid config with the same meaning, apart from
 * the redacted values. Ends with a newline.
 */
export function renderEffectiveConfig(config: Config): string {
  const doc = new Document(redactValue(toDisplay(config), undefined));
  if (config.discover === undefined && isMap(doc.contents)) {
    const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'discover');
    if (pair && isScalar(pair.key)) pair.key.commentBefore = ' discover: not set, so the built-in discovery of every framework applies';
  }
  // Lists of plain values (windows, nodes, prioritySteps) read best on one line, as config.md writes them.
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  // lineWidth 0: never fold long values (URLs) over several lines.
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
