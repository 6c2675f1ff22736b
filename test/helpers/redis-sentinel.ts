/**
 * A private Redis Sentinel deployment for one test file (or benchmark): one
 * master, one replica and three sentinels (`redis-server <conf> --sentinel`),
 * all on free 127.0.0.1 ports, with a password on the data servers and a
 * different one on the sentinels, `down-after-milliseconds 1000` and
 * `failover-timeout 5000`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

/** One process the helper started. */
export interface SentinelProc {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** an authenticated client for checks and setup */
  readonly client: Redis;
  /** SIGKILLs it */
  kill(): Promise<void>;
}

export interface SentinelSetup {
  readonly masterName: string;
  /** password of the master and the replica (`requirepass` / `masterauth`) */
  readonly dataPassword: string;
  /** password of the sentinels (`requirepass` on each sentinel) */
  readonly sentinelPassword: string;
  /** the two data servers; which one is master changes with {@link failover} */
  readonly servers: readonly SentinelProc[];
  readonly sentinels: readonly SentinelProc[];
  /** the data server the sentinels name as master now */
  master(): Promise<SentinelProc>;
  /**
   * `SENTINEL FAILOVER <name>` on the first sentinel, then waits until every
   * sentinel names the other server and that server reports `role:master`.
   * @returns the new master.
   */
  failover(): Promise<SentinelProc>;
  /** Stops every process and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

const MASTER_NAME = 'qsmaster';

/**
 * Starts the deployment and waits until it is ready for a failover: the replica
 * is in sync, and every sentinel knows the replica and the two other sentinels.
 * @throws when redis-server is missing (naming the Debian package) or the setup does not converge in 20 s.
 */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  const bin = findBinary('redis-server', 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'qs-sentinel-'));
  const dataPassword = `data-${randomBytes(6).toString('hex')}`;
  const sentinelPassword = `sent-${randomBytes(6).toString('hex')}`;
  const procs: { child: ChildProcess; client: Redis }[] = [];

  const launch = async (args: string[], password: string, what: string): Promise<SentinelProc> => {
    const port = Number(args[args.indexOf('--port') + 1]);
    const child = spawn(bin, args, { stdio: 'ignore' });
    const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) });
    client.on('error', () => {});
    procs.push({ child, client });
    await waitFor(`${what} on port ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => undefined);
      return (await client.ping()) === 'PONG';
    }, 10_000);
    return {
      port,
      address: `127.0.0.1:${port}`,
      client,
      kill: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    };
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const p of procs) p.client.disconnect();
    await Promise.all(
      procs.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const onExit = (): void => {
    for (const { child } of procs) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    const dataArgs = (port: number, name: string): string[] => [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--dbfilename', `${name}.rdb`, '--requirepass', dataPassword, '--masterauth', dataPassword,
    ];
    const masterPort = await freePort();
    const master = await launch(dataArgs(masterPort, 'a'), dataPassword, 'redis master');
    const replicaPort = await freePort();
    const replica = await launch([...dataArgs(replicaPort, 'b'), '--replicaof', '127.0.0.1', String(masterPort)], dataPassword, 'redis replica');
    await waitFor('replica in sync', async () => /master_link_status:up/.test(await replica.client.info('replication')), 15_000);

    const sentinels: SentinelProc[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `requirepass ${sentinelPassword}`,
          `sentinel sentinel-pass ${sentinelPassword}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel auth-pass ${MASTER_NAME} ${dataPassword}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          '',
        ].join('\n'),
      );
      sentinels.push(await launch([conf, '--sentinel', '--port', String(port)], sentinelPassword, `sentinel ${i}`));
    }
    await waitFor(
      'sentinels know the replica and each other',
      async () => {
        for (const s of sentinels) {
          const replicas = (await s.client.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
          const ok = replicas.some((r) => {
            const flags = r[r.indexOf('flags') + 1] ?? '';
            return r[r.indexOf('port') + 1] === String(replicaPort) && flags === 'slave';
          });
          const others = (await s.client.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
          if (!ok || others.length < 2) return false;
        }
        return true;
      },
      20_000,
      100,
    );

    const servers = [master, replica];
    const masterNow = async (): Promise<SentinelProc> => {
      const [, port] = (await sentinels[0]!.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
      const s = servers.find((x) => x.port === Number(port));
      if (!s) throw new Error(`sentinel names an unknown master port ${port}`);
      return s;
    };
    return {
      masterName: MASTER_NAME,
      dataPassword,
      sentinelPassword,
      servers,
      sentinels,
      master: masterNow,
      async failover() {
        const old = await masterNow();
        const next = servers.find((s) => s !== old)!;
        await sentinels[0]!.client.call('SENTINEL', 'FAILOVER', MASTER_NAME);
        await waitFor(
          `every sentinel names ${next.address}`,
          async () => {
            for (const s of sentinels) {
              const [, port] = (await s.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
              if (Number(port) !== next.port) return false;
            }
            return /role:master/.test(await next.client.info('replication'));
          },
          20_000,
          50,
        );
        return next;
      },
      stop: async () => {
        process.removeListener('exit', onExit);
        await stop();
      },
    };
  } catch (err) {
    process.removeListener('exit', onExit);
    await stop();
    throw err;
  }
}
