/**
 * The `queuescope` command as users run it (the compiled bin, a child
 * process): version, check-config with exit codes 0 and 2, secrets hidden,
 * start on built-in defaults plus environment overrides, graceful SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './helpers/ports.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

const CLI = resolve(import.meta.dirname, '../dist/src/cli.js');
const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8'))) as { version: string };

let redis: RedisServer;
let dir: string;

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
  return spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8', timeout: 15_000 });
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'qs-cli-'));
});
afterAll(async () => {
  await redis?.stop();
});

describe('queuescope CLI', () => {
  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`queuescope ${pkg.version}`);
  });

  it('check-config: exit 0 for a valid file, secrets shown as <secret>', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'redis:\n  url: redis://:hunter2pass@127.0.0.1:6379/0\nmysql:\n  url: mysql://exporter:s3cretpw@127.0.0.1:3306/\n');
    const r = run(['check-config', '--config', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('<secret>');
    expect(r.stdout).not.toContain('hunter2pass');
    expect(r.stdout).not.toContain('s3cretpw');
  });

  it('check-config: exit 2 naming file, line and key path for an invalid file', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'scrape:\n  timeout: 5x\n');
    const r = run(['check-config', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:2: scrape.timeout: invalid duration "5x"`);
  });

  it('exit 2 for unknown arguments', () => {
    const r = run(['--nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--nope');
  });

  it('runs on built-in defaults with environment overrides and stops gracefully on SIGTERM', async () => {
    const port = await freePort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
    const child = spawn(process.execPath, [CLI], {
      cwd: dir,
      env: { ...clean, QUEUESCOPE_LISTEN: `127.0.0.1:${port}`, QUEUESCOPE_REDIS_URL: redis.url, QUEUESCOPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const body = await waitFor('sidecar listening', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        const text = await res.text();
        return /^redis_up 1$/m.test(text) ? text : undefined;
      });
      expect(body).toMatch(/^queuescope_build_info\{version="[^"]+",nodejs="v\d+/m);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stderr).not.toMatch(/"level":(50|60)/);
  });
});
