/**
 * Applies a web config file (web-config.ts) to the Fastify app: the https
 * server and its TLS policy, client-certificate checks Node's TLS cannot
 * express, bcrypt basic auth, response headers and the rate limit.
 *
 * Reload: before every new connection (TLS) and every request, the web
 * config file and the files it names are `stat`ed; when one changed (mtime,
 * size or inode: a rotated certificate, a Kubernetes secret's symlink swap)
 * the file is read again and the server's secure context replaced with
 * `tls.Server#setSecureContext`, so the next handshake uses the new
 * certificate. SIGHUP forces the same. An invalid new file is refused with a
 * log line and the previous one keeps serving (exporter-toolkit would fail
 * the requests instead; a scrape target going dark for a typo is worse).
 * Switching between HTTP and HTTPS needs a restart.
 *
 * Basic auth as exporter-toolkit's: bcrypt comparison (bcryptjs) with the
 * results cached per (user, password, hash), and a decoy comparison for
 * unknown users so timing does not tell which users exist.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/schema.js';
import { AUTH_EXEMPT_PATHS, isAuthorized } from './auth.js';
import { loadWebConfig, type WebConfig, type WebTls } from './web-config.js';

/** A bcrypt hash (cost 10) of a password nobody has: compared against for unknown users. */
const DECOY_HASH = '$2b$10$7tK2HYLsLviQRFEhBGGO9eBIxQRznnwAUTzhbEaIc/V02eIlM0z0W';
/** Cached bcrypt outcomes (a cost-10 comparison takes ~100 ms in JavaScript; Prometheus scrapes every few seconds). */
const AUTH_CACHE_SIZE = 100;

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Node's TLS server options for `tls` (the client-auth policies Node lacks are enforced per request). */
export function secureOptions(tls: WebTls): HttpsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCA ? { ca: tls.clientCA } : {}),
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
    honorCipherOrder: tls.honorCipherOrder,
    ...(tls.ecdhCurve ? { ecdhCurve: tls.ecdhCurve } : {}),
  };
}

/** SAN values of a peer certificate's `subjectaltname` (`DNS:a, IP Address:1.2.3.4, email:x, URI:u`). */
export function subjectAltNames(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname.split(/,\s*/).map((part) => part.slice(part.indexOf(':') + 1));
}

/** The running web config: owns reloads; {@link WebGuard.attach} wires it into an app. */
export class WebGuard {
  private cfg: WebConfig;
  private stamps: string;
  private server: HttpsServer | undefined;
  private readonly authCache = new Map<string, boolean>();
  private tokens: number;
  private lastRefill = Date.now();

  /** @throws ConfigError when the file is invalid (startup: exit 2). */
  constructor(
    path: string,
    private readonly log: Logger,
  ) {
    this.cfg = loadWebConfig(path);
    this.stamps = this.stampOf(this.cfg);
    this.tokens = this.cfg.rateLimit?.burst ?? 0;
  }

  /** The current config. */
  get config(): WebConfig {
    return this.cfg;
  }

  private stampOf(cfg: WebConfig): string {
    return cfg.files.map(fileStamp).join('|');
  }

  /**
   * Re-reads the file when it or a file it names changed (or always, with
   * `force`). Keeps the old config on error.
   * @returns true when a new config is in force
   */
  refresh(force = false): boolean {
    const stamps = this.stampOf(this.cfg);
    if (!force && stamps === this.stamps) return false;
    this.stamps = stamps;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.cfg.path);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'web config reload refused; the previous one keeps serving');
      return false;
    }
    if (Boolean(next.tls) !== Boolean(this.cfg.tls)) {
      this.log.error({ file: next.path }, 'web config reload refused: switching between HTTP and HTTPS needs a restart');
      return false;
    }
    if (next.tls && this.server) {
      const o = secureOptions(next.tls);
      try {
        this.server.setSecureContext(o);
      } catch (err) {
        // runs inside the server's 'connection' listener: never let it throw
        this.log.error({ err: (err as Error).message }, 'web config reload refused: the new TLS settings cannot be used; the previous ones keep serving');
        return false;
      }
      // requestCert / rejectUnauthorized are read from the server per connection, not from the context
      Object.assign(this.server, { requestCert: o.requestCert, rejectUnauthorized: o.rejectUnauthorized });
    }
    if (JSON.stringify(next.users) !== JSON.stringify(this.cfg.users)) this.authCache.clear();
    this.stamps = this.stampOf(next);
    this.cfg = next;
    this.log.info({ file: next.path, tls: Boolean(next.tls) }, 'web config reloaded');
    return true;
  }

  /** Fastify options: an https server when TLS is configured, else nothing (plain HTTP). */
  fastifyOptions(): { serverFactory?: FastifyServerFactory } {
    const tls = this.cfg.tls;
    if (!tls) return {};
    return {
      serverFactory: (handler) => {
        const server = createHttpsServer(secureOptions(tls), handler);
        // before Node's own 'connection' listener builds the TLSSocket from the current secure context
        server.prependListener('connection', () => this.refresh());
        this.server = server;
        return server as unknown as ReturnType<FastifyServerFactory>;
      },
    };
  }

  /**
   * Adds the request checks to `app` (replaces http/auth.ts's registerAuth:
   * the config's `auth` credentials keep working beside `basic_auth_users`;
   * either is accepted). `/-/healthy` and `/-/ready` need no credentials, as
   * with `auth`.
   */
  attach(app: FastifyInstance, auth: AuthConfig | undefined): void {
    app.addHook('onRequest', async (req, reply) => {
      this.refresh();
      const cfg = this.cfg;
      for (const [name, value] of Object.entries(cfg.headers)) reply.header(name, value);
      if (cfg.rateLimit && !this.take(cfg.rateLimit)) return reply.code(429).send({ error: 'too many requests' });

      const socket = req.raw.socket as TLSSocket;
      if (cfg.tls && typeof socket.getPeerCertificate === 'function') {
        const peer = socket.getPeerCertificate();
        const hasCert = Boolean(peer && Object.keys(peer).length > 0);
        const policy = cfg.tls.clientAuth;
        if ((policy === 'RequireAnyClientCert' || policy === 'RequireAndVerifyClientCert') && !hasCert) return reply.code(403).send({ error: 'a client certificate is required' });
        if ((policy === 'VerifyClientCertIfGiven' || policy === 'RequireAndVerifyClientCert') && hasCert && !socket.authorized) return reply.code(403).send({ error: 'the client certificate is not signed by a trusted CA' });
        if (cfg.tls.clientAllowedSans.length > 0) {
          const sans = subjectAltNames(peer?.subjectaltname);
          if (!sans.some((s) => cfg.tls!.clientAllowedSans.includes(s))) return reply.code(403).send({ error: 'the client certificate\'s SAN is not allowed' });
        }
      }

      const q = req.url.indexOf('?');
      if (AUTH_EXEMPT_PATHS.has(q < 0 ? req.url : req.url.slice(0, q))) return;
      const users = Object.keys(cfg.users).length > 0;
      const configured = Boolean(auth?.bearerToken || auth?.basic);
      if (!users && !configured) return;
      const header = req.headers.authorization;
      if (configured && isAuthorized(auth, header)) return;
      if (users && (await this.checkBasic(header))) return;
      const challenges = [...(users || auth?.basic ? ['Basic realm="queuescope", charset="UTF-8"'] : []), ...(auth?.bearerToken ? ['Bearer realm="queuescope"'] : [])];
      return reply
        .code(401)
        .header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges)
        .send({ error: 'authentication required' });
    });
  }

  private take(rl: { intervalMs: number; burst: number }): boolean {
    const now = Date.now();
    this.tokens = Math.min(rl.burst, this.tokens + (now - this.lastRefill) / rl.intervalMs);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Basic credentials against `basic_auth_users` (bcrypt, cached). */
  private async checkBasic(header: string | undefined): Promise<boolean> {
    if (!header || !/^basic /i.test(header)) return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    const known = Object.prototype.hasOwnProperty.call(this.cfg.users, user);
    const hash = known ? this.cfg.users[user]! : DECOY_HASH;
    const key = createHash('sha256').update(`${user}\0${pass}\0${hash}`).digest('base64');
    let ok = this.authCache.get(key);
    if (ok === undefined) {
      // bcryptjs reads $2y$ (htpasswd's) like $2b$
      // loaded on the first basic-auth check: a sidecar without basic_auth_users never loads it
      const { default: bcrypt } = await import('bcryptjs');
      ok = (await bcrypt.compare(pass, hash)) && known;
      if (this.authCache.size >= AUTH_CACHE_SIZE) this.authCache.delete(this.authCache.keys().next().value!);
      this.authCache.set(key, ok);
    }
    return ok;
  }
}
