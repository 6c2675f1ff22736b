/**
 * The Prometheus exporter-toolkit web configuration file
 * (`--web.config.file`), so a team reuses the one file all its exporters
 * read: `tls_server_config`, `http_server_config`, `basic_auth_users`,
 * `rate_limit`. Format and rules as documented in
 * prometheus/exporter-toolkit docs/web-configuration.md:
 *
 * - TLS only when `tls_server_config` has a certificate and key (files or
 *   inline PEM); `min_version` defaults to TLS12, `max_version` to TLS13;
 *   `cipher_suites` are Go's names (TLS ≤ 1.2 only, as in Go);
 *   `client_auth_type` is one of Go's `tls.ClientAuthType` names (default
 *   NoClientCert); client CAs without a verifying policy, or a verifying
 *   policy without client CAs, are errors.
 * - `basic_auth_users`: user → bcrypt hash (`$2a$`, `$2b$`, `$2y$`).
 * - `http_server_config.headers`: only Content-Security-Policy,
 *   X-Frame-Options (deny | sameorigin), X-Content-Type-Options (nosniff),
 *   X-XSS-Protection, Strict-Transport-Security.
 * - relative file names resolve against the web config file's folder.
 *
 * Not from the toolkit: `http2` is accepted but the sidecar serves HTTP/1.1
 * (Node's https server); the file is re-read when it or a file it names
 * changes, not on every request (see web-guard.ts).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatKeyPath, type ConfigIssue } from '../config/errors.js';

/** Go's TLS version names → Node's. */
export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

/**
 * Go's cipher suite names (crypto/tls `CipherSuites()`, the secure ones
 * configurable for TLS ≤ 1.2) → OpenSSL's names, which Node's `ciphers` takes.
 */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
};

/** TLS 1.3 suites Go always enables (not configurable there either); kept so a TLS13 connection has ciphers. */
const TLS13_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** Go's curve names → OpenSSL's. */
export const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const ALLOWED_HEADERS = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'] as const;

const tlsSchema = z.strictObject({
  cert: z.string().optional(),
  key: z.string().optional(),
  client_ca: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  client_auth_type: z.enum(CLIENT_AUTH_TYPES).default('NoClientCert'),
  client_ca_file: z.string().optional(),
  client_allowed_sans: z.array(z.string().min(1)).optional(),
  min_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).default('TLS12'),
  max_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).default('TLS13'),
  cipher_suites: z.array(z.string()).optional(),
  prefer_server_cipher_suites: z.boolean().default(true),
  curve_preferences: z.array(z.string()).optional(),
});

const headersSchema = z
  .record(z.string(), z.string())
  .superRefine((h, ctx) => {
    for (const [name, value] of Object.entries(h)) {
      if (!(ALLOWED_HEADERS as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', path: [name], message: `header not allowed; one of ${ALLOWED_HEADERS.join(', ')}` });
      else if (name === 'X-Frame-Options' && value !== '' && !/^(deny|sameorigin)$/i.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'deny or sameorigin' });
      else if (name === 'X-Content-Type-Options' && value !== '' && !/^nosniff$/i.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'nosniff' });
    }
  });

const durationSchema = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 100ms, 1s, 1m');

const webConfigSchema = z.strictObject({
  tls_server_config: tlsSchema.optional(),
  http_server_config: z.strictObject({ http2: z.boolean().default(true), headers: headersSchema.default({}) }).optional(),
  basic_auth_users: z
    .record(z.string().min(1), z.string().regex(/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/, 'a bcrypt hash ($2y$10$…, e.g. from htpasswd -nBC 10 "" | tr -d \':\\n\')'))
    .optional(),
  rate_limit: z.strictObject({ interval: durationSchema, burst: z.number().int().min(0) }).optional(),
});

/** The TLS material and policy, files already read. */
export interface WebTls {
  /** PEM */
  cert: string;
  /** PEM; a secret */
  key: string;
  /** PEM of the client CAs, when configured */
  clientCA?: string;
  clientAuth: ClientAuthType;
  clientAllowedSans: string[];
  minVersion: (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];
  maxVersion: (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];
  /** OpenSSL cipher list; undefined = Node's defaults */
  ciphers?: string;
  honorCipherOrder: boolean;
  /** OpenSSL curve list (`P-256:X25519`); undefined = Node's default */
  ecdhCurve?: string;
}

/** A loaded web config file. */
export interface WebConfig {
  /** absolute path of the file */
  path: string;
  /** undefined = plain HTTP */
  tls?: WebTls;
  /** user → bcrypt hash; empty = no basic auth */
  users: Record<string, string>;
  /** response headers to set (blank values dropped) */
  headers: Record<string, string>;
  /** token bucket: one request per `intervalMs`, bursts of `burst`; undefined = unlimited */
  rateLimit?: { intervalMs: number; burst: number };
  /** the files whose change means a reload: the web config and every file it names */
  files: string[];
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Reads and validates a web config file.
 * @throws ConfigError naming the file, the line and the key path of every problem (exit code 2 at startup).
 */
export function loadWebConfig(path: string): WebConfig {
  const abs = resolve(path);
  const issue = (p: (string | number)[], message: string, line?: number): ConfigIssue => ({ file: path, path: formatKeyPath(p), message, ...(line !== undefined ? { line } : {}) });
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError([issue([], `cannot read the web config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`)]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => issue([], e.message.split('\n')[0] ?? 'YAML error', lines.linePos(e.pos[0]).line)));
  const lineOf = (p: PropertyKey[]): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  let data: unknown;
  try {
    // aliases: an unresolved `*a` or an alias bomb throws here
    data = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  } catch (err) {
    throw new ConfigError([issue([], String((err as Error).message ?? err).split('\n')[0] ?? 'YAML error')]);
  }
  const parsed = webConfigSchema.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const p = i.path.filter((s): s is string | number => typeof s !== 'symbol');
        const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
        return issue(p, `${i.message}${keys}`, lineOf(p));
      }),
    );
  }
  const cfg = parsed.data;
  const dir = dirname(abs);
  const files = [abs];
  const problems: ConfigIssue[] = [];
  const readPem = (key: string, file: string | undefined, inline: string | undefined): string | undefined => {
    if (file && inline) {
      problems.push(issue(['tls_server_config', key], `set either ${key} or its inline form, not both`, lineOf(['tls_server_config', key])));
      return undefined;
    }
    if (inline) return inline;
    if (!file) return undefined;
    const full = isAbsolute(file) ? file : resolve(dir, file);
    files.push(full);
    try {
      return readFileSync(full, 'utf8');
    } catch (err) {
      problems.push(issue(['tls_server_config', key], `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, lineOf(['tls_server_config', key])));
      return undefined;
    }
  };

  let tls: WebTls | undefined;
  const t = cfg.tls_server_config;
  if (t) {
    const cert = readPem('cert_file', t.cert_file, t.cert);
    const key = readPem('key_file', t.key_file, t.key);
    const clientCA = readPem('client_ca_file', t.client_ca_file, t.client_ca);
    const at = (k: string) => lineOf(['tls_server_config', k]);
    if (!cert && !t.cert_file && !t.cert) problems.push(issue(['tls_server_config', 'cert_file'], 'missing: TLS needs cert_file (or cert) and key_file (or key)', at('cert_file')));
    if (!key && !t.key_file && !t.key) problems.push(issue(['tls_server_config', 'key_file'], 'missing: TLS needs cert_file (or cert) and key_file (or key)', at('key_file')));
    const verifies = t.client_auth_type === 'VerifyClientCertIfGiven' || t.client_auth_type === 'RequireAndVerifyClientCert';
    if (verifies && !t.client_ca_file && !t.client_ca) problems.push(issue(['tls_server_config', 'client_ca_file'], `client_auth_type ${t.client_auth_type} needs client_ca_file`, at('client_auth_type')));
    if ((t.client_ca_file || t.client_ca) && t.client_auth_type === 'NoClientCert') problems.push(issue(['tls_server_config', 'client_auth_type'], 'client CAs are configured but client_auth_type is NoClientCert (use RequireAndVerifyClientCert)', at('client_ca_file')));
    if (t.client_allowed_sans && t.client_auth_type !== 'RequireAnyClientCert' && t.client_auth_type !== 'RequireAndVerifyClientCert') {
      problems.push(issue(['tls_server_config', 'client_allowed_sans'], 'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert', at('client_allowed_sans')));
    }
    const order = Object.keys(TLS_VERSIONS);
    if (order.indexOf(t.min_version) > order.indexOf(t.max_version)) problems.push(issue(['tls_server_config', 'min_version'], `min_version ${t.min_version} is above max_version ${t.max_version}`, at('min_version')));
    const ciphers: string[] = [];
    (t.cipher_suites ?? []).forEach((name, i) => {
      const c = CIPHER_SUITES[name];
      if (c) ciphers.push(c);
      else problems.push(issue(['tls_server_config', 'cipher_suites', i], `unknown cipher suite "${name}"; one of ${Object.keys(CIPHER_SUITES).join(', ')}`, lineOf(['tls_server_config', 'cipher_suites', i])));
    });
    const curves: string[] = [];
    (t.curve_preferences ?? []).forEach((name, i) => {
      const c = CURVES[name];
      if (c) curves.push(c);
      else problems.push(issue(['tls_server_config', 'curve_preferences', i], `unknown curve "${name}"; one of ${Object.keys(CURVES).join(', ')}`, lineOf(['tls_server_config', 'curve_preferences', i])));
    });
    if (cert && key) {
      // a certificate that does not parse or does not match its key (e.g. half of a rotation written) is refused here, not at a handshake
      try {
        createSecureContext({ cert, key, ...(clientCA ? { ca: clientCA } : {}) });
      } catch (err) {
        const reason = String((err as Error).message ?? err).replace(/\s+/g, ' ').slice(0, 200);
        problems.push(issue(['tls_server_config', 'cert_file'], `the certificate, key or client CA cannot be used: ${reason}`, at('cert_file')));
      }
      tls = {
        cert,
        key,
        ...(clientCA ? { clientCA } : {}),
        clientAuth: t.client_auth_type,
        clientAllowedSans: t.client_allowed_sans ?? [],
        minVersion: TLS_VERSIONS[t.min_version],
        maxVersion: TLS_VERSIONS[t.max_version],
        ...(ciphers.length ? { ciphers: `${TLS13_CIPHERS}:${ciphers.join(':')}` } : {}),
        honorCipherOrder: t.prefer_server_cipher_suites,
        ...(curves.length ? { ecdhCurve: curves.join(':') } : {}),
      };
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const headers = Object.fromEntries(Object.entries(cfg.http_server_config?.headers ?? {}).filter(([, v]) => v !== ''));
  const rl = cfg.rate_limit;
  let rateLimit: WebConfig['rateLimit'];
  if (rl) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(rl.interval)!;
    const intervalMs = Number(m[1]) * (DURATION_MS[m[2]!] ?? 1);
    if (intervalMs > 0) rateLimit = { intervalMs, burst: Math.max(1, rl.burst) };
  }
  return { path: abs, ...(tls ? { tls } : {}), users: cfg.basic_auth_users ?? {}, headers, ...(rateLimit ? { rateLimit } : {}), files };
}
