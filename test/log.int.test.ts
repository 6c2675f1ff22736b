/**
 * Secrets stay out of logs even at trace level (issue 10 #11): a malformed
 * request carrying `Authorization: Bearer …` makes Node's HTTP parser raise
 * a client error whose `rawPacket` (the raw request bytes) Fastify logs at
 * trace level; it must come out censored.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { waitFor } from './helpers/ports.js';

const TOKEN = 'bearer-token-7c1e9d';
let app: FastifyInstance;
let lines = '';
let port = 0;

beforeAll(async () => {
  const log = createLogger('trace', { write: (chunk: string) => void (lines += chunk) });
  const config = configSchema.parse({ discover: [], redis: { url: 'redis://127.0.0.1:1/0' }, auth: { bearerToken: TOKEN } });
  app = await buildApp(config, { log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app?.close();
});

/** Every string in a parsed log record, Buffers (`{type:'Buffer',data}`) decoded. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') {
    const o = value as { type?: unknown; data?: unknown };
    if (o.type === 'Buffer' && Array.isArray(o.data)) out.push(Buffer.from(o.data as number[]).toString('latin1'));
    for (const v of Object.values(value)) strings(v, out);
  }
  return out;
}

describe('log redaction', () => {
  it('censors the raw packet of a client error', async () => {
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        // A header line without a colon: the parser rejects the request after reading the token.
        sock.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nbroken header line\r\n\r\n`);
      });
      sock.on('error', reject);
      sock.on('close', () => resolve());
      sock.resume();
    });
    const records = await waitFor('the client error logged', () => {
      const parsed = lines.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      return parsed.some((r) => typeof r.msg === 'string' && r.msg.startsWith('client ')) ? parsed : undefined;
    });
    const clientError = records.find((r) => typeof r.msg === 'string' && r.msg.startsWith('client '));
    expect((clientError?.err as { rawPacket?: unknown } | undefined)?.rawPacket).toBe('<secret>');
    for (const r of records) for (const s of strings(r)) expect(s).not.toContain(TOKEN);
    expect(lines).not.toContain(TOKEN);
  });
});
