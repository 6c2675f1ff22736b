/**
 * Whatever start-up would reject, the loader rejects first (issue 10 #7):
 * `check-config` exits 2 naming the key path and line, and `/-/reload`
 * refuses the config with a 400 carrying the reason while
 * `queuescope_config_last_reload_successful` drops to 0. On main these
 * configs passed check-config and then crashed at start (exit 1, a stack
 * trace) or answered the reload with a 500 and left the gauge at 1.
 *
 * Plus: configs naming files that must never be read as secrets (a FIFO,
 * `/dev/zero`, an oversized file) are refused promptly (issue 10 #6).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfigFile } from '../../src/config/load.js';
import { parseExposition } from '../helpers/exposition.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

let redis: RedisServer;
let dir: string;
let app: FastifyInstance;
const configPath = (): string => join(dir, 'queuescope.yaml');

const CASES: ReadonlyArray<{ name: string; yaml: string; expect: string }> = [
  { name: 'redis port 99999', yaml: 'redis:\n  url: redis://127.0.0.1:99999/0\n', expect: ':2: redis.url: port must be between 1 and 65535' },
  { name: 'unclosed IPv6 bracket', yaml: 'redis:\n  url: redis://[::1/0\n', expect: ':2: redis.url: is not a valid URL' },
  { name: 'non-numeric database', yaml: 'redis:\n  url: redis://h/abc\n', expect: ':2: redis.url: the database must be a number like /0' },
  { name: 'password with %ZZ', yaml: 'redis:\n  url: redis://:pw%ZZsecret@127.0.0.1:6379/0\n', expect: ':2: redis.url: the password is not valid percent-encoding' },
  { name: 'missing TLS CA', yaml: 'redis:\n  url: rediss://127.0.0.1:6380/0\n  tls: { ca: missing-ca.pem }\n', expect: ':3: redis.tls.ca: cannot read "missing-ca.pem": no such file' },
  { name: 'TLS CA that is a directory', yaml: 'redis:\n  url: rediss://127.0.0.1:6380/0\n  tls: { ca: . }\n', expect: ':3: redis.tls.ca: cannot read ".": is a directory' },
  { name: 'listen on 999.1.1.1', yaml: 'listen: 999.1.1.1:9640\n', expect: ':1: listen: "999.1.1.1" is not a valid IPv4 address' },
];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'qs-startup-'));
  writeFileSync(configPath(), `redis:\n  url: ${redis.url}\ndiscover: []\n`);
  app = await buildApp(await loadConfigFile(configPath(), {}), { log: pino({ level: 'silent' }), loadConfig: () => loadConfigFile(configPath(), {}) });
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function checkConfig(file: string) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
  return spawnSync(process.execPath, [CLI, 'check-config', '--config', file], { cwd: dir, env: clean, encoding: 'utf8', timeout: 15_000 });
}

async function reloadGauge(): Promise<number | undefined> {
  return parseExposition((await app.inject('/metrics')).body).get('queuescope_config_last_reload_successful');
}

describe('configs start-up would reject', () => {
  it.each(CASES)('check-config exits 2 for $name', ({ yaml, expect: message }) => {
    const file = join(dir, 'case.yaml');
    writeFileSync(file, yaml);
    const r = checkConfig(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}${message}`);
    expect(r.stderr).not.toContain('secret');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.each(CASES)('/-/reload refuses $name with 400, the gauge goes 0, the old config keeps running', async ({ yaml, expect: message }) => {
    // a good reload first, so the gauge is 1 before the bad one
    writeFileSync(configPath(), `redis:\n  url: ${redis.url}\ndiscover: []\n`);
    expect((await app.inject({ method: 'POST', url: '/-/reload' })).statusCode).toBe(200);
    expect(await reloadGauge()).toBe(1);

    writeFileSync(configPath(), yaml);
    const res = await app.inject({ method: 'POST', url: '/-/reload' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain(message.replace(/^:\d+: /, ''));
    expect(await reloadGauge()).toBe(0);
    expect(parseExposition((await app.inject('/metrics')).body).get('redis_up')).toBe(1);
  });
});

describe('secret files that must not be read (issue 10 #6)', () => {
  it('refuses a FIFO, /dev/zero and an oversized file at once, without blocking', async () => {
    const fifo = join(dir, 'token.fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(dir, 'big'), Buffer.alloc(200 * 1024, 'a'));
    const cases: Array<[string, string]> = [
      ['token.fifo', 'is a FIFO (named pipe), not a regular file'],
      ['/dev/zero', 'is a device, not a regular file'],
      ['big', 'is larger than 64 KiB'],
    ];
    for (const [name, reason] of cases) {
      const file = join(dir, 'secret.yaml');
      writeFileSync(file, `auth:\n  bearerTokenFile: ${name}\n`);
      const r = checkConfig(file);
      expect(r.error, `check-config with ${name} must not hang`).toBeUndefined();
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${file}:2: auth.bearerTokenFile: cannot read "${name}": ${reason}`);

      // and a reload naming it answers while /-/healthy keeps answering
      writeFileSync(configPath(), `redis:\n  url: ${redis.url}\ndiscover: []\nauth:\n  bearerTokenFile: ${name}\n`);
      const [reload, healthy] = await Promise.all([app.inject({ method: 'POST', url: '/-/reload' }), app.inject('/-/healthy')]);
      expect(reload.statusCode).toBe(400);
      expect(reload.json().error).toContain(reason);
      expect(healthy.statusCode).toBe(200);
    }
  });
});
