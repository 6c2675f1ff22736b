/**
 * `npm run bench` (shared/spec/testing.md, "Benchmark"; issues 2 and 14).
 *
 * Starts a private redis-server and a 1 ms-each-way delay proxy (2 ms RTT,
 * bench/delay-proxy.ts), then:
 *
 * 1. **Reference workload** (bench/workload.ts: 1,000 lists with companions,
 *    300 streams x 2 groups, 200 timeline zsets, 5 components), on loopback
 *    and at 2 ms RTT:
 *    - queuescope's Runtime in process (src/runtime.ts, the object the
 *      sidecar runs): wall time of collect + exposition, split into the time
 *      the event loop was busy (in-process work) and the time it waited
 *      (Redis and the wire), with the round trips the engine reports;
 *    - queuescope as Prometheus sees it (a child process running buildApp,
 *      src/app.ts, scraped on /metrics with Prometheus' headers, gzip
 *      accepted) and prometheus-redis-exporter on the same keys
 *      (`-check-keys` / `-check-streams` patterns), started together and
 *      scraped alternately so both see the same machine load; commands
 *      (INFO commandstats) and proxy turns per scrape from one isolated scrape
 *      of each; RSS (peak = VmHWM) of each process.
 * 2. **Scale workloads** (bench/scale-workload.ts): 1,000, 10,000 and a
 *    discovered 50,000 plain lists (+ a tenth as many streams and zsets), on
 *    loopback: time (median, p99), peak RSS, series and series per queue for
 *    each size, side by side with redis_exporter where it finishes.
 * 3. bench/cluster.ts and bench/load.ts (skipped in quick mode).
 *
 * Prints tables and the issue-14 targets met or missed; writes
 * test-artifacts/bench.json. Every child is killed on exit, every wait bounded.
 *
 * Knobs (env): BENCH_QUICK=1 (few runs, sizes 1k/10k, no cluster/load);
 * BENCH_RUNS (loopback scrapes, 20), BENCH_PROXY_RUNS (20),
 * BENCH_EXPORTER_RUNS (5), BENCH_EXPORTER_PROXY_RUNS (1; each ~13 s),
 * BENCH_SCALE ("1000,10000,50000d": list counts, `d` = discovered),
 * BENCH_SCALE_RUNS (8), BENCH_SCALE_EXPORTER_RUNS (2),
 * BENCH_SCALE_EXPORTER_MAX (largest list count the exporter is run on, 50000),
 * BENCH_DELAY_MS (per direction, 1), BENCH_SKIP_REFERENCE=1,
 * BENCH_CPU_PROF=1 (profile the sidecar children into test-artifacts/profiles/).
 */
// First, as in src/cli.ts: the sidecar's heap policy, for the in-process Runtime (the sidecar children apply it in sidecar-child.ts).
import '../src/heap-policy.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { scrapeResponse } from '../src/collect/response.js';
import { configSchema, type Config } from '../src/config/schema.js';
import { Runtime } from '../src/runtime.js';
import { proxyChildMain, startRemoteDelayProxy, type RemoteDelayProxy } from './delay-proxy.js';
import { exporterBinary, startExporter, type RunningExporter } from './exporter.js';
import { countSeries, countSeriesWith, familiesWith, httpGet, metricValue, type Scrape } from './http-get.js';
import { commandDelta, commandStats, killAllChildren, processCpuMs, processMemory, startRedis, track, waitFor, type BenchRedis } from './redis.js';
import { loadScaleWorkload, scaleSizes, type ScaleWorkload } from './scale-workload.js';
import { profileDirFor, startSidecar, type RunningSidecar } from './sidecar.js';
import { envFlag, envInt, fmt, latency, median, round1, type Latency } from './stats.js';
import { printTable } from './table.js';
import { loadWorkload, type Workload } from './workload.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..'); // dist/bench -> repo root
const SCRIPT = fileURLToPath(import.meta.url);
const WATCHDOG_MS = 25 * 60_000;
const QUICK = envFlag('BENCH_QUICK');

const OPTS = {
  quick: QUICK,
  runs: envInt('BENCH_RUNS', QUICK ? 8 : 20),
  // 20 at 2 ms RTT as on loopback: on a noisy 2-core VM a median of 10 moved by ~10 ms between runs
  proxyRuns: envInt('BENCH_PROXY_RUNS', QUICK ? 5 : 20),
  exporterRuns: envInt('BENCH_EXPORTER_RUNS', QUICK ? 2 : 5),
  exporterProxyRuns: envInt('BENCH_EXPORTER_PROXY_RUNS', QUICK ? 0 : 1),
  scale: (process.env.BENCH_SCALE ?? (QUICK ? '1000,10000' : '1000,10000,50000d'))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
  scaleRuns: envInt('BENCH_SCALE_RUNS', QUICK ? 4 : 8),
  scaleExporterRuns: envInt('BENCH_SCALE_EXPORTER_RUNS', QUICK ? 1 : 2),
  scaleExporterMax: envInt('BENCH_SCALE_EXPORTER_MAX', 50_000),
  delayMs: envInt('BENCH_DELAY_MS', 1),
  skipReference: envFlag('BENCH_SKIP_REFERENCE'),
  warmup: envInt('BENCH_WARMUP', 2),
};

/** issue 14, "Done when". */
const TARGETS = { referenceRatio: 0.05, reference2msMs: 50, scaleRatio: 0.05, scaleRssMiB: 150, seriesPerPlainList: 2 };

// ---------------------------------------------------------------- in process

/** One row of the in-process measurement. */
interface EngineRow {
  path: string;
  runs: number;
  wall: Latency;
  /** Event loop busy during the scrape: queuescope's own work (planning, parsing, rendering). */
  busy: Latency;
  /** wall - busy: waiting for Redis and the wire. */
  wait: Latency;
  /** Rendering the exposition alone. */
  render: Latency;
  commands: number;
  roundtrips: number;
  /** roundtrips x measured PING RTT: the wire's share that cannot be removed. */
  wireFloorMs: number;
  redisCommandsPerScrape: number;
  proxyTurnsPerScrape?: number;
  bodyBytes: number;
  failures: string[];
}

/**
 * The sidecar's own Runtime for `config` (MySQL off), collected and rendered
 * `runs` times exactly as GET /metrics does (engine.collect, then
 * scrapeResponse: src/collect/response.ts).
 */
async function benchEngine(admin: Redis, rawConfig: Record<string, unknown>, port: number, path: string, runs: number, rttMs: number, proxy?: RemoteDelayProxy): Promise<EngineRow> {
  const config: Config = configSchema.parse({ ...rawConfig, redis: { url: `redis://127.0.0.1:${port}/0` } });
  const runtime = new Runtime({ ...config, mysql: undefined }, pino({ level: 'silent' }));
  runtime.start();
  try {
    // Warm-up, also waiting for discovery's first pass (bounded).
    for (let i = 0; i < OPTS.warmup; i++) scrapeResponse(await runtime.engine.collect(Date.now() + 60_000), undefined);
    const wall: number[] = [];
    const busy: number[] = [];
    const wait: number[] = [];
    const rend: number[] = [];
    let body = '';
    let last;
    const before = await commandStats(admin);
    const turns0 = proxy ? await proxy.turns() : 0;
    for (let i = 0; i < runs; i++) {
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      last = await runtime.engine.collect(Date.now() + 30_000);
      const t1 = performance.now();
      body = scrapeResponse(last, undefined).body as string;
      const t2 = performance.now();
      const elu = performance.eventLoopUtilization(elu0);
      wall.push(t2 - t0);
      // ELU's active time is counted per loop iteration; the synchronous render above is in it.
      const active = Math.min(elu.active, t2 - t0);
      busy.push(active);
      wait.push(t2 - t0 - active);
      rend.push(t2 - t1);
    }
    const turns = (proxy ? await proxy.turns() : 0) - turns0;
    const delta = commandDelta(before, await commandStats(admin));
    const failures: string[] = [];
    for (const [name, st] of last!.collectors) for (const f of st.failures) if (failures.length < 5) failures.push(`${name}: ${f}`);
    const roundtrips = metricValue(body, 'queuescope_scrape_redis_roundtrips') ?? NaN;
    return {
      path,
      runs,
      wall: latency(wall),
      busy: latency(busy),
      wait: latency(wait),
      render: latency(rend),
      commands: metricValue(body, 'queuescope_scrape_redis_commands') ?? NaN,
      roundtrips,
      wireFloorMs: round1(roundtrips * rttMs),
      redisCommandsPerScrape: round1(delta.total / runs),
      ...(proxy ? { proxyTurnsPerScrape: round1(turns / runs) } : {}),
      bodyBytes: Buffer.byteLength(body),
      failures,
    };
  } finally {
    await runtime.close();
  }
}

// ---------------------------------------------------------------- over HTTP

/** One HTTP target's figures. */
interface HttpRow {
  target: 'queuescope' | 'redis_exporter';
  workload: string;
  path: string;
  latency: Latency;
  /** From one isolated scrape (INFO commandstats delta). */
  redisCommandsPerScrape?: number;
  /** From one isolated scrape (proxy turns), 2 ms RTT only. */
  proxyTurnsPerScrape?: number;
  /** As queuescope reports them. */
  selfReported?: { commands: number; roundtrips: number };
  /**
   * CPU time per timed scrape, ms (medians; `processCpuMs`, all threads): the
   * scraped process, Redis and the delay proxy, which share the machine's cores.
   */
  cpuMs?: { target: number; redis: number; proxy?: number };
  idleRssMiB?: number;
  rssMiB?: number;
  peakRssMiB?: number;
  wireBytes: number;
  bodyBytes: number;
  contentEncoding?: string;
  series: number;
  error?: string;
}

interface Target {
  name: HttpRow['target'];
  url: string;
  pid: number;
  warmup: number;
  runs: number;
  timeoutMs: number;
}

/** One scrape, throwing on a non-200 answer. */
async function scrape(t: Target): Promise<Scrape> {
  const s = await httpGet(t.url, undefined, t.timeoutMs);
  if (s.status !== 200) throw new Error(`GET ${t.url}: HTTP ${s.status}: ${s.body.slice(0, 300)}`);
  return s;
}

/**
 * Warms every target up, measures commands and proxy turns of one isolated
 * scrape each, then scrapes them alternately (round robin) until each has its
 * `runs`.
 */
async function alternate(admin: Redis, redisPid: number, targets: readonly Target[], workload: string, path: string, proxy?: RemoteDelayProxy): Promise<HttpRow[]> {
  const rows = new Map<Target, { ms: number[]; cpu: { target: number[]; redis: number[]; proxy: number[] }; last?: Scrape; calib: { commands: number; turns?: number }; idle?: number; error?: string }>();
  for (const t of targets) {
    const idle = processMemory(t.pid)?.rssMiB;
    try {
      for (let i = 0; i < t.warmup; i++) await scrape(t);
      const before = await commandStats(admin);
      const turns0 = proxy ? await proxy.turns() : 0;
      const s = await scrape(t);
      const turns = proxy ? (await proxy.turns()) - turns0 : undefined;
      const delta = commandDelta(before, await commandStats(admin));
      rows.set(t, { ms: [], cpu: { target: [], redis: [], proxy: [] }, last: s, calib: { commands: delta.total, ...(turns === undefined ? {} : { turns }) }, ...(idle === undefined ? {} : { idle }) });
    } catch (err) {
      rows.set(t, { ms: [], cpu: { target: [], redis: [], proxy: [] }, calib: { commands: NaN }, error: (err as Error).message });
    }
  }
  const maxRuns = Math.max(0, ...targets.map((t) => t.runs));
  for (let i = 0; i < maxRuns; i++) {
    for (const t of targets) {
      const r = rows.get(t)!;
      if (r.error || i >= t.runs) continue;
      try {
        const pids = [t.pid, redisPid, proxy?.pid ?? 0];
        const cpu0 = pids.map((pid) => processCpuMs(pid) ?? NaN);
        const s = await scrape(t);
        const cpu = pids.map((pid, k) => (processCpuMs(pid) ?? NaN) - cpu0[k]!);
        r.ms.push(s.ms);
        r.cpu.target.push(cpu[0]!);
        r.cpu.redis.push(cpu[1]!);
        if (proxy) r.cpu.proxy.push(cpu[2]!);
        r.last = s;
      } catch (err) {
        r.error = (err as Error).message;
      }
    }
  }
  return targets.map((t) => {
    const r = rows.get(t)!;
    const mem = processMemory(t.pid);
    const body = r.last?.body ?? '';
    return {
      target: t.name,
      workload,
      path,
      latency: latency(r.ms),
      redisCommandsPerScrape: r.calib.commands,
      ...(r.calib.turns === undefined ? {} : { proxyTurnsPerScrape: r.calib.turns }),
      ...(t.name === 'queuescope'
        ? { selfReported: { commands: metricValue(body, 'queuescope_scrape_redis_commands') ?? NaN, roundtrips: metricValue(body, 'queuescope_scrape_redis_roundtrips') ?? NaN } }
        : {}),
      ...(r.ms.length > 0
        ? { cpuMs: { target: round1(median(r.cpu.target)), redis: round1(median(r.cpu.redis)), ...(proxy ? { proxy: round1(median(r.cpu.proxy)) } : {}) } }
        : {}),
      ...(r.idle === undefined ? {} : { idleRssMiB: round1(r.idle) }),
      ...(mem ? { rssMiB: round1(mem.rssMiB), peakRssMiB: round1(mem.peakMiB) } : {}),
      wireBytes: r.last?.wireBytes ?? 0,
      bodyBytes: Buffer.byteLength(body),
      ...(r.last?.contentEncoding ? { contentEncoding: r.last.contentEncoding } : {}),
      series: countSeries(body),
      ...(r.error ? { error: r.error } : {}),
    };
  });
}

/** Waits until the sidecar's page has `redis_up 1` and at least `queues` queue_info series (discovery done). */
async function sidecarReady(s: RunningSidecar, queues: number, timeoutMs: number): Promise<void> {
  let seen = 0;
  await waitFor(`the sidecar to report redis_up 1 and ${queues} queues (last seen ${seen})`, async () => {
    const r = await httpGet(s.url, undefined, timeoutMs);
    seen = countSeries(r.body, 'queue_info{');
    return metricValue(r.body, 'redis_up') === 1 && seen >= queues;
  }, timeoutMs, 250);
}

// ---------------------------------------------------------------- sections

function referenceConfig(workload: Workload): Record<string, unknown> {
  return { listen: '127.0.0.1:0', logLevel: 'silent', queues: workload.queues, components: workload.components, discover: workload.discover };
}

/** Queues in the reference workload (queue_info series expected). */
function referenceQueues(workload: Workload): number {
  return workload.queues.length;
}

interface ReferenceResult {
  engine: EngineRow[];
  http: HttpRow[];
}

async function referenceSection(admin: Redis, redisPort: number, redisPid: number, proxy: RemoteDelayProxy, rtt: { loopback: number; proxied: number }, exporterBin: string | undefined): Promise<ReferenceResult> {
  const workload = await loadWorkload(admin);
  console.log(`reference workload loaded in ${fmt(workload.loadMs, 0)} ms: ${await admin.dbsize()} keys; ${workload.parts.map((p) => `${p.name} ${JSON.stringify(p.summary)}`).join('; ')}`);
  const raw = referenceConfig(workload);
  const out: ReferenceResult = { engine: [], http: [] };
  const paths = [
    { path: 'loopback', port: redisPort, runs: OPTS.runs, exporterRuns: OPTS.exporterRuns, exporterWarmup: 1, rtt: rtt.loopback, proxy: undefined },
    { path: '2ms-rtt', port: proxy.port, runs: OPTS.proxyRuns, exporterRuns: OPTS.exporterProxyRuns, exporterWarmup: 0, rtt: rtt.proxied, proxy },
  ];
  for (const p of paths) {
    console.log(`[reference ${p.path}] queuescope Runtime in process…`);
    out.engine.push(await benchEngine(admin, raw, p.port, p.path, p.runs, p.rtt, p.proxy));
    console.log(`[reference ${p.path}] queuescope /metrics${exporterBin && p.exporterRuns > 0 ? ' and redis_exporter, alternately' : ''}…`);
    const sidecar = await startSidecar({ ...raw, redis: { url: `redis://127.0.0.1:${p.port}/0` } }, profileDirFor(ROOT, `reference-${p.path}`));
    let exporter: RunningExporter | undefined;
    try {
      await sidecarReady(sidecar, referenceQueues(workload), 30_000);
      const targets: Target[] = [{ name: 'queuescope', url: sidecar.url, pid: sidecar.proc.pid ?? 0, warmup: OPTS.warmup, runs: p.runs, timeoutMs: 30_000 }];
      if (exporterBin && p.exporterRuns > 0) {
        exporter = await startExporter(exporterBin, p.port, ['bq:*', 'comp:*'], ['bs:*']);
        targets.push({ name: 'redis_exporter', url: exporter.url, pid: exporter.proc.pid ?? 0, warmup: p.exporterWarmup, runs: p.exporterRuns, timeoutMs: 180_000 });
      }
      out.http.push(...(await alternate(admin, redisPid, targets, 'reference', p.path, p.proxy)));
    } finally {
      await exporter?.stop();
      await sidecar.stop();
    }
  }
  return out;
}

interface ScaleRow {
  label: string;
  lists: number;
  queues: number;
  discovered: boolean;
  loadMs: number;
  engine?: EngineRow;
  queuescope?: HttpRow;
  exporter?: HttpRow;
  /** queuescope series per queue (every `queue_*` and `redis_*`/`queuescope_*` series / queues). */
  seriesPerQueue?: number;
  /** Series carrying `framework="list"` per list queue (the lists are plain: no companions). */
  seriesPerPlainList?: number;
  /** Families a plain list queue appears in. */
  listFamilies?: string[];
  exporterSkipped?: string;
  error?: string;
}

async function scaleSection(admin: Redis, redisPort: number, redisPid: number, rttLoopback: number, exporterBin: string | undefined): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const spec of OPTS.scale) {
    const discovered = spec.endsWith('d');
    const lists = Number(discovered ? spec.slice(0, -1) : spec);
    if (!Number.isInteger(lists) || lists <= 0) {
      console.error(`BENCH_SCALE entry "${spec}" is not a list count (e.g. 10000 or 50000d); skipped`);
      continue;
    }
    await admin.flushall();
    const w: ScaleWorkload = await loadScaleWorkload(admin, scaleSizes(lists, discovered));
    const row: ScaleRow = { label: w.label, lists, queues: w.queues, discovered, loadMs: Math.round(w.loadMs) };
    rows.push(row);
    console.log(`[scale ${w.label}] loaded in ${fmt(w.loadMs, 0)} ms (${await admin.dbsize()} keys)`);
    try {
      console.log(`[scale ${w.label}] queuescope Runtime in process…`);
      row.engine = await benchEngine(admin, w.config, redisPort, 'loopback', OPTS.scaleRuns, rttLoopback);
      const sidecar = await startSidecar({ ...w.config, redis: { url: `redis://127.0.0.1:${redisPort}/0` } }, profileDirFor(ROOT, `scale-${spec}`));
      let exporter: RunningExporter | undefined;
      try {
        await sidecarReady(sidecar, w.queues, 120_000);
        const targets: Target[] = [{ name: 'queuescope', url: sidecar.url, pid: sidecar.proc.pid ?? 0, warmup: OPTS.warmup, runs: OPTS.scaleRuns, timeoutMs: 60_000 }];
        if (exporterBin && OPTS.scaleExporterRuns > 0 && lists <= OPTS.scaleExporterMax) {
          exporter = await startExporter(exporterBin, redisPort, w.exporterKeyPatterns, w.exporterStreamPatterns);
          targets.push({ name: 'redis_exporter', url: exporter.url, pid: exporter.proc.pid ?? 0, warmup: 0, runs: OPTS.scaleExporterRuns, timeoutMs: 300_000 });
        } else {
          row.exporterSkipped = !exporterBin ? 'not installed' : `skipped (BENCH_SCALE_EXPORTER_MAX=${OPTS.scaleExporterMax}, BENCH_SCALE_EXPORTER_RUNS=${OPTS.scaleExporterRuns})`;
        }
        console.log(`[scale ${w.label}] queuescope /metrics${exporter ? ' and redis_exporter, alternately' : ''}…`);
        const [qs, ex] = await alternate(admin, redisPid, targets, w.label, 'loopback');
        row.queuescope = qs;
        if (ex) row.exporter = ex;
        // Series per queue from one more (uncompressed) page.
        const page = (await httpGet(sidecar.url, { accept: 'text/plain' }, 60_000)).body;
        row.seriesPerQueue = round1((countSeries(page, 'queue_') + countSeries(page, 'redis_')) / w.queues);
        // Per-queue series only (queue="…"), not the per-framework discovery gauge.
        row.seriesPerPlainList = round1(countSeriesWith(page, 'framework="list"', 'queue_') / lists);
        row.listFamilies = familiesWith(page, 'framework="list"').filter((f) => f.startsWith('queue_'));
      } finally {
        await exporter?.stop();
        await sidecar.stop();
      }
    } catch (err) {
      row.error = (err as Error).message;
      console.error(`[scale ${w.label}] failed: ${row.error}`);
    }
  }
  await admin.flushall();
  return rows;
}

// ---------------------------------------------------------------- report

function printEngineRows(title: string, rows: readonly EngineRow[], labels: readonly string[]): void {
  console.log(`\n${title}`);
  printTable(
    ['workload', 'path', 'runs', 'wall median', 'wall p99', 'in-process (loop busy) median', 'waiting (Redis+wire) median', 'render median', 'round trips', 'round trips x RTT', 'cmds (self | redis)'],
    rows.map((r, i) => [
      labels[i] ?? '',
      r.path,
      String(r.runs),
      `${fmt(r.wall.medianMs)} ms`,
      `${fmt(r.wall.p99Ms)} ms`,
      `${fmt(r.busy.medianMs)} ms`,
      `${fmt(r.wait.medianMs)} ms`,
      `${fmt(r.render.medianMs)} ms`,
      fmt(r.roundtrips, 0),
      `${fmt(r.wireFloorMs)} ms`,
      `${fmt(r.commands, 0)} | ${fmt(r.redisCommandsPerScrape, 0)}`,
    ]),
    2,
  );
}

function printHttpRows(rows: readonly HttpRow[]): void {
  console.log('\nGET /metrics as Prometheus scrapes it (Accept-Encoding: gzip), scraped alternately');
  printTable(
    ['target', 'path', 'runs', 'median ms', 'p99 ms', 'CPU ms/scrape (self | redis | proxy)', 'cmds/scrape', 'round trips (self | proxy)', 'RSS MiB idle/after/peak', 'wire KiB', 'body KiB', 'series'],
    rows.map((r) => [
      r.target + (r.error ? ` (FAILED: ${r.error.slice(0, 60)})` : ''),
      r.path,
      String(r.latency.runs),
      fmt(r.latency.medianMs),
      fmt(r.latency.p99Ms),
      r.cpuMs ? `${fmt(r.cpuMs.target)} | ${fmt(r.cpuMs.redis)} | ${r.cpuMs.proxy === undefined ? '-' : fmt(r.cpuMs.proxy)}` : '-',
      fmt(r.redisCommandsPerScrape, 0),
      `${r.selfReported ? fmt(r.selfReported.roundtrips, 0) : '-'} | ${r.proxyTurnsPerScrape === undefined ? '-' : fmt(r.proxyTurnsPerScrape, 0)}`,
      r.rssMiB === undefined ? '-' : `${fmt(r.idleRssMiB, 0)}/${fmt(r.rssMiB, 0)}/${fmt(r.peakRssMiB, 0)}`,
      `${fmt(r.wireBytes / 1024)}${r.contentEncoding ? ` (${r.contentEncoding})` : ''}`,
      fmt(r.bodyBytes / 1024),
      String(r.series),
    ]),
    2,
  );
}

function printScaleRows(rows: readonly ScaleRow[]): void {
  console.log('\nScale (loopback): growth with the number of queues');
  printTable(
    ['workload', 'queues', 'qs median ms', 'qs p99 ms', 'qs in-process ms', 'qs peak RSS MiB', 'series', 'series/queue', 'series/plain list', 'wire KiB', 'exporter median ms', 'exporter peak RSS MiB', 'qs/exporter'],
    rows.map((r) => {
      const qs = r.queuescope;
      const ex = r.exporter;
      const ratio = qs && ex && !ex.error ? qs.latency.medianMs / ex.latency.medianMs : undefined;
      return [
        r.label + (r.error ? ` (FAILED: ${r.error.slice(0, 60)})` : ''),
        String(r.queues),
        fmt(qs?.latency.medianMs),
        fmt(qs?.latency.p99Ms),
        fmt(r.engine?.busy.medianMs),
        fmt(qs?.peakRssMiB, 0),
        qs ? String(qs.series) : '-',
        fmt(r.seriesPerQueue, 2),
        fmt(r.seriesPerPlainList, 2),
        qs ? fmt(qs.wireBytes / 1024) : '-',
        ex ? (ex.error ? 'failed' : fmt(ex.latency.medianMs)) : (r.exporterSkipped ?? '-'),
        fmt(ex?.peakRssMiB, 0),
        ratio === undefined ? '-' : ratio.toFixed(3),
      ];
    }),
    1,
  );
  for (const r of rows) if (r.listFamilies) console.log(`  ${r.label}: a plain list queue is in ${r.listFamilies.join(', ')}`);
}

interface Verdict {
  what: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

function verdicts(ref: ReferenceResult | undefined, scale: readonly ScaleRow[]): Verdict[] {
  const out: Verdict[] = [];
  const http = ref?.http ?? [];
  const pick = (target: HttpRow['target'], path: string) => http.find((r) => r.target === target && r.path === path && !r.error && r.latency.runs > 0);
  const qsLoop = pick('queuescope', 'loopback');
  const exLoop = pick('redis_exporter', 'loopback');
  if (qsLoop && exLoop) {
    const ratio = qsLoop.latency.medianMs / exLoop.latency.medianMs;
    out.push({ what: 'reference, loopback: queuescope / redis_exporter', value: ratio.toFixed(3), target: `<= ${TARGETS.referenceRatio}`, met: ratio <= TARGETS.referenceRatio });
  }
  const qs2 = pick('queuescope', '2ms-rtt');
  if (qs2) out.push({ what: 'reference, 2 ms RTT: queuescope median', value: `${fmt(qs2.latency.medianMs)} ms`, target: `<= ${TARGETS.reference2msMs} ms`, met: qs2.latency.medianMs <= TARGETS.reference2msMs });
  const ex2 = pick('redis_exporter', '2ms-rtt');
  if (qs2 && ex2) out.push({ what: 'reference, 2 ms RTT: queuescope / redis_exporter', value: (qs2.latency.medianMs / ex2.latency.medianMs).toFixed(4), target: '(info)', met: undefined });
  const tenK = scale.find((r) => r.lists === 10_000 && !r.discovered);
  if (tenK?.queuescope && tenK.exporter && !tenK.exporter.error) {
    const ratio = tenK.queuescope.latency.medianMs / tenK.exporter.latency.medianMs;
    out.push({ what: '10,000 lists + 1,000 streams + 1,000 zsets: queuescope / redis_exporter', value: ratio.toFixed(3), target: `<= ${TARGETS.scaleRatio}`, met: ratio <= TARGETS.scaleRatio });
  }
  if (tenK?.queuescope?.peakRssMiB !== undefined) {
    out.push({ what: '10,000 lists + …: queuescope peak RSS', value: `${fmt(tenK.queuescope.peakRssMiB, 0)} MiB`, target: `<= ${TARGETS.scaleRssMiB} MiB`, met: tenK.queuescope.peakRssMiB <= TARGETS.scaleRssMiB });
  }
  const withLists = scale.filter((r) => r.seriesPerPlainList !== undefined);
  if (withLists.length > 0) {
    const worst = Math.max(...withLists.map((r) => r.seriesPerPlainList!));
    out.push({ what: 'series per plain list queue', value: fmt(worst, 2), target: `<= ${TARGETS.seriesPerPlainList}`, met: worst <= TARGETS.seriesPerPlainList });
  }
  return out;
}

function printVerdicts(v: readonly Verdict[]): void {
  console.log('\nissue 14 targets');
  printTable(['check', 'value', 'target', ''], v.map((x) => [x.what, x.value, x.target, x.met === undefined ? '' : x.met ? 'met' : 'MISSED']), 1);
}

// ---------------------------------------------------------------- main

/** Median RTT of `n` sequential PINGs to `port`, ms. */
async function pingRtt(port: number, n = 50): Promise<number> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await c.ping();
      ms.push(performance.now() - t0);
    }
    return latency(ms).medianMs;
  } finally {
    c.disconnect();
  }
}

async function runOtherBench(name: string): Promise<Record<string, unknown> | undefined> {
  const file = join(HERE, `${name}.js`);
  if (!existsSync(file)) return undefined;
  console.log(`\n== bench/${name}.ts ==`);
  try {
    const mod = (await import(pathToFileURL(file).href)) as { run?: () => Promise<Record<string, unknown>> };
    if (typeof mod.run !== 'function') return { error: `bench/${name}.ts exports no run()` };
    return await mod.run();
  } catch (err) {
    console.error(`bench/${name}.ts failed: ${(err as Error).stack ?? String(err)}`);
    return { error: (err as Error).message };
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`queuescope bench${OPTS.quick ? ' (quick)' : ''}: node ${process.version}; ${JSON.stringify(OPTS)}`);
  let redis: BenchRedis | undefined;
  let proxy: RemoteDelayProxy | undefined;
  const result: Record<string, unknown> = { startedAt: new Date(started).toISOString(), node: process.version, options: OPTS, targets: TARGETS };
  let reference: ReferenceResult | undefined;
  let scale: ScaleRow[] = [];
  try {
    redis = await startRedis();
    const admin = redis.client;
    const serverVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    proxy = await startRemoteDelayProxy(SCRIPT, redis.port, OPTS.delayMs, track);
    const rtt = { loopback: await pingRtt(redis.port), proxied: await pingRtt(proxy.port) };
    console.log(`redis ${serverVersion} on 127.0.0.1:${redis.port}; PING RTT loopback ${rtt.loopback.toFixed(3)} ms, through the delay proxy ${rtt.proxied.toFixed(3)} ms (target ${2 * OPTS.delayMs} ms)`);
    result.redisVersion = serverVersion;
    result.pingRttMs = rtt;
    const exporterBin = exporterBinary();
    if (!exporterBin) console.log('prometheus-redis-exporter is not installed: no comparison (apt-get install prometheus-redis-exporter)');

    if (!OPTS.skipReference) {
      reference = await referenceSection(admin, redis.port, redis.pid, proxy, rtt, exporterBin);
      result.reference = reference;
    }
    scale = await scaleSection(admin, redis.port, redis.pid, rtt.loopback, exporterBin);
    result.scale = scale;

    if (reference) {
      printEngineRows('queuescope Runtime in process (collect + exposition): where the time goes', reference.engine, reference.engine.map(() => 'reference'));
      for (const e of reference.engine) for (const f of e.failures) console.log(`  ${e.path}: collection failure: ${f}`);
      printHttpRows(reference.http);
    }
    const withEngine = scale.filter((r) => r.engine);
    if (withEngine.length > 0) printEngineRows('queuescope Runtime in process, scale workloads', withEngine.map((r) => r.engine!), withEngine.map((r) => r.label));
    for (const r of withEngine) for (const f of r.engine!.failures) console.log(`  ${r.label}: collection failure: ${f}`);
    if (scale.length > 0) printScaleRows(scale);
    const v = verdicts(reference, scale);
    printVerdicts(v);
    result.verdicts = v;
  } finally {
    await proxy?.close();
    await redis?.stop();
  }

  if (!OPTS.quick) {
    for (const name of ['cluster', 'load']) {
      const r = await runOtherBench(name);
      if (r !== undefined) {
        result[name] = r;
        console.log(JSON.stringify(r, null, 2));
      }
    }
  }

  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  const out = join(ROOT, 'test-artifacts', 'bench.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out} (${result.durationSeconds} s)`);
}

if (process.argv[2] === '--delay-proxy') {
  void proxyChildMain(Number(process.argv[3]), Number(process.argv[4]));
} else {
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  }
  setTimeout(() => {
    console.error(`bench watchdog: still running after ${WATCHDOG_MS / 60_000} min; killing children`);
    killAllChildren();
    process.exit(1);
  }, WATCHDOG_MS).unref();
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
      killAllChildren();
      process.exit(1);
    },
  );
}
