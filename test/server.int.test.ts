/**
 * The running sidecar as a real process: SIGHUP reloads the config file and
 * keeps serving (issue 10 #1: close-with-grace used to treat SIGHUP as a
 * shutdown signal and exit 0); SIGTERM still ends it with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './helpers/ports.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

const CLI = resolve(import.meta.dirname, '../dist/src/cli.js');

let redis: RedisServer;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'qs-server-'));
});
afterAll(async () => {
  // The child leads its own process group: end it and anything it started.
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function configText(port: number, queue: string): string {
  return `listen: 127.0.0.1:${port}\nlogLevel: warn\nredis:\n  url: ${redis.url}\ndiscover: []\nqueues:\n  - name: ${queue}\n    type: list\n    key: ${queue}\n`;
}

describe('queuescope server signals', () => {
  it('reloads on SIGHUP, keeps serving, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const file = join(dir, 'queuescope.yaml');
    writeFileSync(file, configText(port, 'before-hup'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
    const proc = spawn(process.execPath, [CLI, '--config', file], { cwd: dir, env: clean, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    await waitFor('sidecar serving the first config', async () => (await metrics()).includes('queue="before-hup"'));
    writeFileSync(file, configText(port, 'after-hup'));
    proc.kill('SIGHUP');
    const body = await waitFor('the reloaded config', async () => {
      const text = await metrics();
      return text.includes('queue="after-hup"') ? text : undefined;
    });
    expect(body).not.toContain('queue="before-hup"');
    expect(body).toMatch(/^queuescope_config_last_reload_successful 1$/m);
    expect(proc.exitCode).toBeNull();

    // A second SIGHUP with nothing changed is still a reload, not an exit.
    proc.kill('SIGHUP');
    await waitFor('still serving after a second SIGHUP', async () => (await fetch(`http://127.0.0.1:${port}/-/healthy`)).ok);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":(50|60)/);
  });
});
