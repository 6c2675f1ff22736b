/**
 * The web config's request checks over plain HTTP (app.inject): bcrypt basic
 * auth beside the config's `auth`, headers, rate limit, and hostile
 * Authorization headers (fast-check).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/load.js';
import { WebGuard } from '../../src/http/web-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-guard-'));
let app: FastifyInstance;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

beforeAll(async () => {
  // cost 4: the property below compares many passwords
  writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  prom: "${bcrypt.hashSync('right', 4)}"\nhttp_server_config:\n  headers: { X-Content-Type-Options: nosniff }\n`);
  writeFileSync(join(dir, 'queuescope.yaml'), 'auth:\n  bearerToken: config-token\nredis:\n  url: redis://127.0.0.1:1/0\ndiscover: []\n');
  const log = pino({ level: 'silent' });
  app = await buildApp(await loadConfigFile(join(dir, 'queuescope.yaml'), {}), { log, web: new WebGuard(join(dir, 'web.yml'), log) });
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('web config request checks', () => {
  it('accepts basic_auth_users and the config\'s bearer token; refuses the rest with both challenges; sets the headers', async () => {
    const get = (authorization?: string) => app.inject({ url: '/api/monitor', headers: authorization ? { authorization } : {} });
    expect((await get(basic('prom', 'right'))).statusCode).toBe(200);
    expect((await get('Bearer config-token')).statusCode).toBe(200);
    const denied = await get(basic('prom', 'wrong'));
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toEqual(['Basic realm="queuescope", charset="UTF-8"', 'Bearer realm="queuescope"']);
    expect(denied.headers['x-content-type-options']).toBe('nosniff');
    expect((await get()).statusCode).toBe(401);
    expect((await app.inject({ url: '/-/ready' })).statusCode).toBe(200);
  });

  it('any Authorization header: 401 unless it is a right credential, never a 5xx (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.string(), fc.string()).map(([u, p]) => basic(u, p)),
          fc.string().map((p) => basic('prom', p)),
          fc.string().map((s) => `Basic ${s}`),
          fc.string().map((s) => `Bearer ${s}`),
        ),
        async (authorization) => {
          // header values must be valid HTTP field values: inject refuses others before the app sees them
          if (/[^\t\x20-\x7e]/.test(authorization) || authorization.trim() !== authorization) return;
          const r = await app.inject({ url: '/metrics', headers: { authorization } });
          const right = authorization === basic('prom', 'right') || authorization === 'Bearer config-token';
          expect(r.statusCode).toBe(right ? 200 : 401);
        },
      ),
      { numRuns: Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 60) },
    );
  });
});
