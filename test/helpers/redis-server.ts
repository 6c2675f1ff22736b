/**
 * A private redis-server for one test file: loopback only, a free port, no
 * persistence, so tests can flush, kill and restart it freely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** A client for test setup and independent checks (not the sidecar's). */
  readonly client: Redis;
  /** SIGKILLs the server (the port stays reserved for restart). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Stops the server and the client; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts redis-server on a free 127.0.0.1 port.
 * @param extraArgs additional `--option value` arguments.
 * @throws when the binary is missing (names the Debian package) or it does not answer PING within 10 s.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const bin = findBinary('redis-server', 'redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'qs-redis-'));
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
      stdio: 'ignore',
    });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server is up; waitFor retries
    try {
      await waitFor(`redis-server on port ${port}`, async () => {
        if (probe.status !== 'ready') {
          probe.disconnect();
          await probe.connect();
        }
        return (await probe.ping()) === 'PONG';
      }, 10_000);
    } finally {
      probe.disconnect();
    }
  };
  await launch();
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) });
  client.on('error', () => {}); // tests kill the server on purpose

  const killProc = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    client,
    kill: () => killProc('SIGKILL'),
    restart: launch,
    async stop() {
      client.disconnect();
      await killProc('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
