/**
 * Concurrent-scrape load test: how much Redis work many scrapers cause.
 *
 * A private redis-server holds the reference workload (bench/workload.ts); the
 * sidecar (`buildApp`, listening on 127.0.0.1) serves `/metrics`; a load
 * generator in a worker thread (its own event loop, so it does not slow the
 * sidecar's) sends requests. Scenarios:
 * - `closed-N`: N clients, each sending its next request when the previous
 *   one answered, for a few seconds; with `cacheFor` 0 (in-flight sharing
 *   only) and with `cacheFor` 1s;
 * - `ha-pair`: two Prometheus servers scraping every second, half a second
 *   apart, with `cacheFor` 0 and 900ms.
 * Reported per scenario: requests/s, request latency (median, p99), the
 * collections the engine ran, and the commands Redis executed (INFO
 * commandstats) in total, per second and per request.
 *
 * Standalone: `node dist/bench/load.js` (after `npm run build`); `npm run
 * bench` calls {@link run}. Knob (env): BENCH_LOAD_SECONDS (closed-loop
 * duration, 4).
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { configSchema } from '../src/config/schema.js';
import { commandDelta, commandStats, startRedis, type BenchRedis } from './redis.js';
import { loadWorkload, type Workload } from './workload.js';
import { printTable } from './table.js';

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
}

/** What the load generator is asked to do. */
type GeneratorJob =
  | { readonly kind: 'closed'; readonly url: string; readonly concurrency: number; readonly durationMs: number }
  | { readonly kind: 'paced'; readonly url: string; readonly clients: number; readonly intervalMs: number; readonly offsetMs: number; readonly rounds: number };

interface GeneratorResult {
  readonly requests: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** request latencies, ms, sorted */
  readonly latencies: number[];
}

/** One scenario's figures. */
export interface LoadBenchRow {
  readonly scenario: string;
  readonly cacheForMs: number;
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  /** collections the engine ran (one per Redis batch set) */
  readonly collections: number;
  /** commands Redis executed during the scenario */
  readonly redisCommands: number;
  readonly redisCommandsPerSecond: number;
  readonly redisCommandsPerRequest: number;
}

async function generate(job: GeneratorJob): Promise<GeneratorResult> {
  const latencies: number[] = [];
  let errors = 0;
  const one = async (): Promise<void> => {
    const t0 = performance.now();
    try {
      const res = await fetch(job.url, { headers: { 'x-prometheus-scrape-timeout-seconds': '10' } });
      await res.text();
      if (res.status !== 200) errors++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - t0);
  };
  const started = performance.now();
  if (job.kind === 'closed') {
    const end = started + job.durationMs;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  } else {
    await Promise.all(
      Array.from({ length: job.clients }, async (_, c) => {
        for (let i = 0; i < job.rounds; i++) {
          const due = started + c * job.offsetMs + i * job.intervalMs;
          await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
          await one();
        }
      }),
    );
  }
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, elapsedMs: performance.now() - started, latencies };
}

/** Runs `job` in a worker thread (this file, `workerData.job`). */
function inWorker(job: GeneratorJob): Promise<GeneratorResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { job } });
    w.once('message', (r: GeneratorResult) => resolve(r));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

const pct = (sorted: readonly number[], p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
const r1 = (n: number): number => Math.round(n * 10) / 10;

async function scenario(name: string, redis: BenchRedis, workload: Workload, cacheForMs: number, job: (url: string) => GeneratorJob): Promise<LoadBenchRow> {
  const config = configSchema.parse({
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    redis: { url: `redis://127.0.0.1:${redis.port}/0`, commandTimeout: '10s' },
    discover: [],
    scrape: { timeout: '10s', cacheFor: `${cacheForMs}ms` },
    queues: workload.queues,
    components: workload.components,
  });
  const app = await buildApp(config, { log: pino({ level: 'silent' }) });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const url = `http://127.0.0.1:${port}/metrics`;
    // warm up: the connection is up and one collection is done
    for (let i = 0; i < 50; i++) {
      const body = await (await fetch(url)).text();
      if (/^redis_up 1$/m.test(body)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const engine = app.queuescope.runtime.engine;
    const collectionsBefore = engine.collections;
    const before = await commandStats(redis.client);
    const g = await inWorker(job(url));
    const after = await commandStats(redis.client);
    const redisCommands = commandDelta(before, after).total;
    const seconds = g.elapsedMs / 1000;
    return {
      scenario: name,
      cacheForMs,
      requests: g.requests,
      errors: g.errors,
      requestsPerSecond: r1(g.requests / seconds),
      medianMs: r1(pct(g.latencies, 50)),
      p99Ms: r1(pct(g.latencies, 99)),
      collections: engine.collections - collectionsBefore,
      redisCommands,
      redisCommandsPerSecond: Math.round(redisCommands / seconds),
      redisCommandsPerRequest: Math.round(redisCommands / Math.max(1, g.requests)),
    };
  } finally {
    await app.close();
  }
}

function printRows(rows: readonly LoadBenchRow[]): void {
  const head = ['scenario', 'cacheFor', 'requests', 'req/s', 'median ms', 'p99 ms', 'collections', 'redis cmds', 'redis cmds/s', 'cmds/request'];
  const lines = rows.map((r) => [
    r.scenario, `${r.cacheForMs}ms`, String(r.requests), String(r.requestsPerSecond), String(r.medianMs), String(r.p99Ms),
    String(r.collections), String(r.redisCommands), String(r.redisCommandsPerSecond), String(r.redisCommandsPerRequest),
  ]);
  printTable(head, lines, 1);
}

/**
 * Runs every scenario against one private redis-server holding the reference workload.
 * @returns the rows and the options used.
 */
export async function run(): Promise<Record<string, unknown>> {
  const seconds = envInt('BENCH_LOAD_SECONDS', 4);
  const durationMs = seconds * 1000;
  let redis: BenchRedis | undefined;
  const rows: LoadBenchRow[] = [];
  try {
    redis = await startRedis();
    const workload = await loadWorkload(redis.client);
    console.log(`workload: ${workload.queues.length} queues, ${await redis.client.dbsize()} keys`);
    const closed = (concurrency: number) => (url: string): GeneratorJob => ({ kind: 'closed', url, concurrency, durationMs });
    rows.push(await scenario('closed-1', redis, workload, 0, closed(1)));
    rows.push(await scenario('closed-50', redis, workload, 0, closed(50)));
    rows.push(await scenario('closed-50', redis, workload, 1000, closed(50)));
    const ha = (url: string): GeneratorJob => ({ kind: 'paced', url, clients: 2, intervalMs: 1000, offsetMs: 500, rounds: 6 });
    rows.push(await scenario('ha-pair (2 x 1/s)', redis, workload, 0, ha));
    rows.push(await scenario('ha-pair (2 x 1/s)', redis, workload, 900, ha));
    printRows(rows);
    return { rows, options: { closedLoopSeconds: seconds, queues: workload.queues.length } };
  } finally {
    await redis?.stop();
  }
}

if (!isMainThread && (workerData as { job?: GeneratorJob } | undefined)?.job) {
  void generate((workerData as { job: GeneratorJob }).job).then((r) => parentPort?.postMessage(r));
} else if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
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
