/**
 * Sending one of the sidecar's HTML pages: every page carries the same
 * headers (its nonce-based CSP, no sniffing, no caching, varying by language).
 */
import type { FastifyReply } from 'fastify';
import { pageCsp } from '../monitor/page.js';

/**
 * Sends `html` with status `code` and the page headers for `nonce` (the nonce its inline script and style carry).
 *
 * @returns the reply, as Fastify handlers return it
 */
export function sendHtmlPage(reply: FastifyReply, code: number, nonce: string, html: string): FastifyReply {
  return reply
    .code(code)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', pageCsp(nonce))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('vary', 'Accept-Language')
    .send(html);
}
