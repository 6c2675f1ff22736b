/**
 * Cluster vs single node: the same reference workload (bench/workload.ts:
 * 1,000 list queues with companions, 300 streams with 2 groups, 200 timeline
 * zsets, 5 components) in one redis-server and in a 3-master Redis Cluster,
 * scraped with the same queuescope config (only `redis:` differs), on
 * loopback and through 1 ms-each-way delay proxies (2 ms RTT; one proxy per
 * node, reached through the cluster executor's `natMap`).
 *
 * Reports per mode: scrape latency (median, p99), commands and round trips
 * per scrape as the engine counts them, and the commands Redis itself counted
 * (INFO commandstats, summed over the nodes).
 *
 * Standalone: `node dist/bench/cluster.js` (after `npm run build`); `npm run
 * bench` calls {@link run}. Knobs (env): BENCH_CLUSTER_RUNS (loopback
 * scrapes, 20), BENCH_CLUSTER_PROXY_RUNS (10), BENCH_DELAY_MS (1).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { ScrapeEngine } from '../src/collect/engine.js';
import { configSchema, type Config } from '../src/config/schema.js';
import { SingleNodeExecutor, type BatchExecutor } from '../src/redis/batch.js';
import { ClusterExecutor } from '../src/redis/cluster.js';
import { connectRedis } from '../src/redis/connection.js';
import { keySlot } from '../src/redis/slot.js';
import { Runtime } from '../src/runtime.js';
import { startRedisCluster, type RedisClusterHandle } from '../test/helpers/redis-cluster.js';
import { startRemoteDelayProxy, type RemoteDelayProxy } from './delay-proxy.js';
import { commandDelta, commandStats, startRedis, track, type BenchRedis } from './redis.js';
import { loadWorkload, type Workload } from './workload.js';
import { printTable } from './table.js';

const HERE = dirname(fileURLToPath(import.meta.url));

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 ? Math.floor(v) : dflt;
}

/** One measured mode. */
export interface ClusterBenchRow {
  readonly mode: 'single' | 'cluster';
  readonly path: 'loopback' | '2ms-rtt';
  readonly scrapes: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  /** commands per scrape, as the engine counts them */
  readonly commands: number;
  /** pipelines per scrape, as the engine counts them */
  readonly roundtrips: number;
  /** commands per scrape, as Redis counted them (INFO commandstats over every node) */
  readonly redisCommands: number;
  readonly nodes: number;
}

type Cmd = [string, ...(string | number)[]];

/** The key a workload loading command writes (loading commands only; scrape commands use keyOf). */
function loadKey(cmd: Cmd): string {
  const name = cmd[0].toUpperCase();
  if (name === 'XGROUP') return String(cmd[2]);
  if (name === 'XREADGROUP') return String(cmd[cmd.findIndex((a) => String(a).toUpperCase() === 'STREAMS') + 1]);
  return String(cmd[1]);
}

/**
 * A stand-in for the `Redis` a workload loader writes through: its pipelines
 * are split per owning master (multi-key DELs into single ones) and sent to
 * each node directly.
 */
async function clusterLoader(cluster: RedisClusterHandle): Promise<Redis> {
  const owners: (Redis | undefined)[] = new Array(16384);
  const ranges = (await cluster.nodes[0]!.client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  for (const [from, to, master] of ranges) {
    const node = cluster.nodes.find((n) => n.port === Number(master[1]))!;
    for (let s = from; s <= to; s++) owners[s] = node.client;
  }
  const fake = {
    pipeline(cmds: Cmd[]) {
      return {
        async exec(): Promise<[Error | null, unknown][]> {
          const byNode = new Map<Redis, Cmd[]>();
          for (const raw of cmds) {
            const c = [raw[0].toUpperCase(), ...raw.slice(1)] as Cmd;
            const split: Cmd[] = c[0] === 'DEL' ? c.slice(1).map((k) => ['DEL', k] as Cmd) : [c];
            for (const one of split) {
              const node = owners[keySlot(loadKey(one))]!;
              let list = byNode.get(node);
              if (!list) byNode.set(node, (list = []));
              list.push(one);
            }
          }
          const out: [Error | null, unknown][] = [];
          for (const [node, list] of byNode) {
            const res = await node.pipeline(list.map(([n, ...a]) => [n.toLowerCase(), ...a])).exec();
            out.push(...((res ?? []) as [Error | null, unknown][]));
          }
          return out;
        },
      };
    },
  };
  return fake as unknown as Redis;
}

/** The production engine (a Runtime: declared queues and components; the config has no discovery, no MySQL), over `executor`. */
function engineFor(config: Config, executor: BatchExecutor, log: Logger): ScrapeEngine {
  return new Runtime(config, log, { executor }).engine;
}

function configFor(workload: Workload, redis: Record<string, unknown>): Config {
  return configSchema.parse({
    redis: { ...redis, connectTimeout: '5s', commandTimeout: '10s' },
    discover: [],
    scrape: { timeout: '10s' },
    queues: workload.queues,
    components: workload.components,
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(
  mode: ClusterBenchRow['mode'],
  path: ClusterBenchRow['path'],
  engine: ScrapeEngine,
  statsClients: readonly Redis[],
  runs: number,
): Promise<ClusterBenchRow> {
  // warm up until a scrape is complete (connections, slot map)
  const warmDeadline = Date.now() + 20_000;
  for (let ok = 0; ok < 3; ) {
    const c = await engine.collect(Date.now() + 10_000);
    if (c.value('redis_up') === 1) ok++;
    else if (Date.now() > warmDeadline) throw new Error(`${mode}/${path}: redis never came up`);
  }
  const before = await Promise.all(statsClients.map((c) => commandStats(c)));
  const times: number[] = [];
  let commands = 0;
  let roundtrips = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const c = await engine.collect(Date.now() + 10_000);
    times.push(performance.now() - t0);
    if (c.value('redis_up') !== 1) throw new Error(`${mode}/${path}: a measured scrape had redis_up 0`);
    commands = c.value('queuescope_scrape_redis_commands') ?? NaN;
    roundtrips = c.value('queuescope_scrape_redis_roundtrips') ?? NaN;
  }
  const after = await Promise.all(statsClients.map((c) => commandStats(c)));
  const redisCommands = after.reduce((sum, a, i) => sum + commandDelta(before[i]!, a).total, 0);
  times.sort((a, b) => a - b);
  return {
    mode,
    path,
    scrapes: runs,
    medianMs: Math.round(percentile(times, 50) * 10) / 10,
    p99Ms: Math.round(percentile(times, 99) * 10) / 10,
    commands,
    roundtrips,
    redisCommands: Math.round(redisCommands / runs),
    nodes: statsClients.length,
  };
}

function printRows(rows: readonly ClusterBenchRow[]): void {
  const head = ['mode', 'path', 'median ms', 'p99 ms', 'commands', 'round trips', 'redis cmds/scrape'];
  const lines = rows.map((r) => [r.mode + (r.nodes > 1 ? ` (${r.nodes} masters)` : ''), r.path, String(r.medianMs), String(r.p99Ms), String(r.commands), String(r.roundtrips), String(r.redisCommands)]);
  printTable(head, lines, 2);
}

/**
 * Runs the comparison: starts a redis-server, a 3-master cluster and the delay
 * proxies, loads the workload into both, measures, stops everything.
 * @returns the rows, the workload size and the options used.
 */
export async function run(): Promise<Record<string, unknown>> {
  const runs = envInt('BENCH_CLUSTER_RUNS', 20);
  const proxyRuns = envInt('BENCH_CLUSTER_PROXY_RUNS', 10);
  const delayMs = envInt('BENCH_DELAY_MS', 1);
  const log = pino({ level: 'silent' });
  const proxyScript = join(HERE, 'run.js');

  let single: BenchRedis | undefined;
  let cluster: RedisClusterHandle | undefined;
  const proxies: RemoteDelayProxy[] = [];
  const executors: BatchExecutor[] = [];
  const rows: ClusterBenchRow[] = [];
  try {
    [single, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
    const t0 = performance.now();
    const workload = await loadWorkload(single.client);
    await loadWorkload(await clusterLoader(cluster));
    const loadSeconds = (performance.now() - t0) / 1000;
    const keys = [await single.client.dbsize(), ...(await Promise.all(cluster.nodes.map((n) => n.client.dbsize())))];
    console.log(`workload: ${workload.queues.length} queues, ${keys[0]} keys (cluster: ${keys.slice(1).join(' + ')} per master), loaded in ${loadSeconds.toFixed(1)} s`);

    const nodeClients = cluster.nodes.map((n) => n.client);
    const singleCfg = configFor(workload, { url: `redis://127.0.0.1:${single.port}/0` });
    const clusterCfg = configFor(workload, { cluster: { nodes: cluster.seeds } });

    const singleExec = new SingleNodeExecutor(connectRedis(singleCfg.redis, log));
    const clusterExec = new ClusterExecutor(clusterCfg.redis, log);
    executors.push(singleExec, clusterExec);
    rows.push(await measure('single', 'loopback', engineFor(singleCfg, singleExec, log), [single.client], runs));
    rows.push(await measure('cluster', 'loopback', engineFor(clusterCfg, clusterExec, log), nodeClients, runs));

    if (proxyRuns > 0) {
      const singleProxy = await startRemoteDelayProxy(proxyScript, single.port, delayMs, track);
      proxies.push(singleProxy);
      const natMap: Record<string, { host: string; port: number }> = {};
      for (const n of cluster.nodes) {
        const p = await startRemoteDelayProxy(proxyScript, n.port, delayMs, track);
        proxies.push(p);
        natMap[n.address] = { host: '127.0.0.1', port: p.port };
      }
      const singleProxCfg = configFor(workload, { url: `redis://127.0.0.1:${singleProxy.port}/0` });
      const clusterProxCfg = configFor(workload, { cluster: { nodes: Object.values(natMap).map((m) => `127.0.0.1:${m.port}`) } });
      const sp = new SingleNodeExecutor(connectRedis(singleProxCfg.redis, log));
      const cp = new ClusterExecutor(clusterProxCfg.redis, log, { natMap });
      executors.push(sp, cp);
      rows.push(await measure('single', '2ms-rtt', engineFor(singleProxCfg, sp, log), [single.client], proxyRuns));
      rows.push(await measure('cluster', '2ms-rtt', engineFor(clusterProxCfg, cp, log), nodeClients, proxyRuns));
    }
    printRows(rows);
    return {
      rows,
      workload: { queues: workload.queues.length, keys: keys[0], keysPerMaster: keys.slice(1) },
      options: { runs, proxyRuns, delayMs },
    };
  } finally {
    await Promise.allSettled(executors.map((e) => e.close()));
    await Promise.allSettled(proxies.map((p) => p.close()));
    await Promise.allSettled([single?.stop(), cluster?.stop()]);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
