/**
 * Optional HTTP authentication for every route except `/-/healthy` and
 * `/-/ready` (config `auth`, shared/spec/config.md): a bearer token
 * (RFC 6750) and/or basic credentials (RFC 7617). When both are configured,
 * either one is accepted.
 *
 * Comparisons are constant-time (SHA-256 of both sides, then
 * `crypto.timingSafeEqual`, so neither the content nor the length of the
 * secret leaks through timing). Failures answer 401 with a
 * `WWW-Authenticate` challenge per configured scheme and never echo what was
 * sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase } from 'fastify';
import type { AuthConfig } from '../config/schema.js';

/** Paths that never require credentials (liveness and readiness probes). */
export const AUTH_EXEMPT_PATHS: ReadonlySet<string> = new Set(['/-/healthy', '/-/ready']);

const REALM = 'queuescope';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time string equality (independent of where or whether lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Checks an `Authorization` header value against `auth`.
 * @returns true when `auth` requires nothing, or the header carries a matching bearer token or basic credentials.
 */
export function isAuthorized(auth: AuthConfig | undefined, header: string | undefined): boolean {
  const bearer = auth?.bearerToken || undefined;
  const basic = auth?.basic;
  if (!bearer && !basic) return true;
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  let ok = false;
  if (scheme === 'bearer' && bearer) ok = safeEqual(value, bearer);
  if (scheme === 'basic' && basic) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      // evaluate both comparisons so timing does not reveal which part was wrong
      const userOk = safeEqual(decoded.slice(0, colon), basic.username);
      const passOk = safeEqual(decoded.slice(colon + 1), basic.password ?? '');
      ok = userOk && passOk;
    }
  }
  return ok;
}

/**
 * Adds an `onRequest` hook enforcing `auth` on every route except
 * {@link AUTH_EXEMPT_PATHS} (matched exactly, query string ignored). Does
 * nothing when `auth` is undefined or configures neither scheme.
 * Unauthorized requests get 401 `{error}` with `WWW-Authenticate: Bearer
 * realm="queuescope"` and/or `Basic realm="queuescope", charset="UTF-8"`.
 */
export function registerAuth<S extends RawServerBase, L extends FastifyBaseLogger>(
  app: FastifyInstance<S, RawRequestDefaultExpression<S>, RawReplyDefaultExpression<S>, L>,
  auth: AuthConfig | undefined,
): void {
  const challenges: string[] = [];
  if (auth?.bearerToken) challenges.push(`Bearer realm="${REALM}"`);
  if (auth?.basic) challenges.push(`Basic realm="${REALM}", charset="UTF-8"`);
  if (challenges.length === 0) return;
  app.addHook('onRequest', async (req, reply) => {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    if (AUTH_EXEMPT_PATHS.has(path)) return;
    if (isAuthorized(auth, req.headers.authorization)) return;
    return reply
      .code(401)
      .header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges)
      .send({ error: 'authentication required' });
  });
}
