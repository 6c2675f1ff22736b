/**
 * `npm run bench` (shared/spec/testing.md, "Benchmark"; issue 2).
 *
 * Starts a private redis-server, loads the reference workload (bench/workload.ts)
 * and, on loopback and again through a 1 ms-each-way delay proxy (2 ms RTT,
 * bench/delay-proxy.ts), measures:
 * - queuescope's engine in process: collect and render times, commands and
 *   round trips per scrape (self-reported, cross-checked with INFO commandstats);
 * - queuescope as Prometheus sees it: a sidecar child process (this file with
 *   `--sidecar`) serving /metrics through `buildApp` (src/app.ts) when it loads,
 *   else through node:http over the same engine + render; latency, RSS;
 * - prometheus-redis-exporter, when installed, on the same keys
 *   (-check-single-keys / -check-single-streams) through the same path; latency,
 *   commands per scrape, round trips (proxy turns), RSS; and the ratio.
 * Then runs bench/cluster.ts and bench/load.ts when they are built.
 * Prints a table and writes test-artifacts/bench.json. Every child is killed on
 * exit, every wait is bounded.
 *
 * Knobs (env): BENCH_RUNS (loopback scrapes, 30), BENCH_PROXY_RUNS (10),
 * BENCH_EXPORTER_RUNS (loopback, 10), BENCH_EXPORTER_PROXY_RUNS (2),
 * BENCH_DELAY_MS (per direction, 1), BENCH_SIDECAR=app|engine (force a mode).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { scrapeResponse } from '../src/collect/response.js';
import { configSchema, type Config } from '../src/config/schema.js';
import { Runtime } from '../src/runtime.js';
import { proxyChildMain, startRemoteDelayProxy, type RemoteDelayProxy } from './delay-proxy.js';
import {
  commandDelta,
  commandStats,
  findBinary,
  freePort,
  killAllChildren,
  processMemory,
  startRedis,
  stopChild,
  track,
  waitFor,
  type BenchRedis,
} from './redis.js';
import { loadWorkload, type Workload } from './workload.js';
import { printTable } from './table.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..'); // dist/bench -> repo root
const SCRAPE_TIMEOUT_HEADER = '10'; // Prometheus' default scrape_timeout, sent as Prometheus sends it
const WATCHDOG_MS = 12 * 60_000;

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 ? Math.floor(v) : dflt;
}

const OPTS = {
  runs: envInt('BENCH_RUNS', 30),
  proxyRuns: envInt('BENCH_PROXY_RUNS', 10),
  exporterRuns: envInt('BENCH_EXPORTER_RUNS', 10),
  exporterProxyRuns: envInt('BENCH_EXPORTER_PROXY_RUNS', 2),
  delayMs: envInt('BENCH_DELAY_MS', 1),
  warmup: 3,
};

// ---------------------------------------------------------------- engine

/**
 * The sidecar's own Runtime (src/runtime.ts: executor, collectors, discovery,
 * engine) for `config` against 127.0.0.1:`port`, without MySQL, so the
 * in-process figures measure exactly what the sidecar runs.
 */
function buildRuntime(config: Config, port: number, log: Logger): Runtime {
  const runtime = new Runtime({ ...config, mysql: undefined, redis: { ...config.redis, url: `redis://127.0.0.1:${port}/0` } }, log);
  runtime.start();
  return runtime;
}

function rawConfig(workload: Workload, redisPort: number): unknown {
  return {
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    redis: { url: `redis://127.0.0.1:${redisPort}/0` },
    queues: workload.queues,
    components: workload.components,
    discover: workload.discover,
  };
}


// ---------------------------------------------------------------- sidecar child

interface SidecarRequest {
  mode: 'app' | 'engine';
  config: unknown;
}
type SidecarReply = { port: number; mode: 'app' | 'engine' } | { error: string };

/** Minimal shape of src/app.ts we use (imported dynamically: it may not build yet). */
interface AppModule {
  buildApp(config: Config, options?: { log?: Logger }): Promise<{
    listen(opts: { host: string; port: number }): Promise<string>;
    close(): Promise<void>;
  }>;
}

/** The sidecar role: serves /metrics on a free port and reports it over IPC. */
async function sidecarMain(): Promise<void> {
  process.on('disconnect', () => process.exit(0));
  const req = await new Promise<SidecarRequest>((res) => process.once('message', (m) => res(m as SidecarRequest)));
  const send = (m: SidecarReply) => process.send?.(m);
  const log = pino({ level: 'silent' });
  try {
    const config = configSchema.parse(req.config);
    if (req.mode === 'app') {
      const appUrl = pathToFileURL(join(ROOT, 'dist', 'src', 'app.js')).href;
      const { buildApp } = (await import(appUrl)) as AppModule;
      const app = await buildApp(config, { log });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      send({ port: Number(new URL(address).port), mode: 'app' });
      return;
    }
    const redisPort = Number(new URL(config.redis.url).port);
    const { engine } = buildRuntime(config, redisPort, log);
    const server = createServer((rq, rs) => {
      if (rq.url !== '/metrics') {
        rs.writeHead(404).end();
        return;
      }
      const budget = Math.min(config.scrape.timeout, Number(rq.headers['x-prometheus-scrape-timeout-seconds'] ?? 10) * 1000 - 250);
      engine.collect(Date.now() + budget).then(
        (c) => {
          const page = scrapeResponse(c, rq.headers.accept);
          rs.writeHead(200, { 'content-type': page.contentType }).end(page.body);
        },
        (err: Error) => rs.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    send({ port: typeof addr === 'object' && addr ? addr.port : 0, mode: 'engine' });
  } catch (err) {
    send({ error: (err as Error).stack ?? String(err) });
    setTimeout(() => process.exit(1), 100);
  }
}

async function startSidecar(mode: 'app' | 'engine', config: unknown): Promise<{ proc: ChildProcess; port: number; mode: 'app' | 'engine' }> {
  const proc = track(fork(fileURLToPath(import.meta.url), ['--sidecar'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const reply = await new Promise<SidecarReply>((res) => {
    const timer = setTimeout(() => res({ error: 'the sidecar did not start within 20 s' }), 20_000);
    proc.once('message', (m) => {
      clearTimeout(timer);
      res(m as SidecarReply);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      res({ error: `the sidecar exited with ${code}: ${stderr}` });
    });
    proc.send({ mode, config } satisfies SidecarRequest);
  });
  if ('error' in reply) {
    await stopChild(proc);
    throw new Error(reply.error);
  }
  return { proc, port: reply.port, mode: reply.mode };
}

// ---------------------------------------------------------------- measuring

interface Latency {
  runs: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { runs: 0, medianMs: NaN, p99Ms: NaN, meanMs: NaN, minMs: NaN, maxMs: NaN };
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const p99 = s[Math.min(n - 1, Math.ceil(0.99 * n) - 1)]!;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { runs: n, medianMs: r(median), p99Ms: r(p99), meanMs: r(s.reduce((a, b) => a + b, 0) / n), minMs: r(s[0]!), maxMs: r(s[n - 1]!) };
}

interface Row {
  target: string;
  path: 'loopback' | '2ms-rtt';
  latency: Latency;
  /** Split of the in-process engine's time. */
  collectMs?: Latency;
  renderMs?: Latency;
  /** As the exporter reports them (queuescope_scrape_redis_*). */
  selfReported?: { commands: number; roundtrips: number };
  /** From INFO commandstats deltas, per scrape. */
  redisCommandsPerScrape: number;
  redisCommandsByName: Record<string, number>;
  /** Request turns the delay proxy saw, per scrape (2 ms RTT path only). */
  proxyTurnsPerScrape?: number;
  rssMiB?: number;
  peakRssMiB?: number;
  /** RSS right after start, before the first scrape. */
  idleRssMiB?: number;
  bodyBytes: number;
  samples?: number;
  failures?: string[];
  notes?: string[];
}

function perScrape(delta: { total: number; byCommand: Record<string, number> }, runs: number) {
  const byName: Record<string, number> = {};
  for (const [k, v] of Object.entries(delta.byCommand)) byName[k] = Math.round((v / runs) * 10) / 10;
  return { total: Math.round((delta.total / runs) * 10) / 10, byName };
}

/** The in-process engine: collect + render, no HTTP. */
async function benchEngine(admin: Redis, config: Config, port: number, path: Row['path'], runs: number, proxy?: RemoteDelayProxy): Promise<Row> {
  const log = pino({ level: 'silent' });
  const runtime = buildRuntime(config, port, log);
  const { engine } = runtime;
  try {
    for (let i = 0; i < OPTS.warmup; i++) scrapeResponse(await engine.collect(Date.now() + 10_000), undefined);
    const total: number[] = [];
    const collect: number[] = [];
    const rend: number[] = [];
    let body = '';
    let last;
    const before = await commandStats(admin);
    const turns0 = proxy ? await proxy.turns() : 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      last = await engine.collect(Date.now() + 10_000);
      const t1 = performance.now();
      body = scrapeResponse(last, undefined).body;
      const t2 = performance.now();
      total.push(t2 - t0);
      collect.push(t1 - t0);
      rend.push(t2 - t1);
    }
    const turns = (proxy ? await proxy.turns() : 0) - turns0;
    const delta = perScrape(commandDelta(before, await commandStats(admin)), runs);
    const failures: string[] = [];
    for (const [name, st] of last!.collectors) for (const f of st.failures) if (failures.length < 5) failures.push(`${name}: ${f}`);
    let samples = 0;
    for (const f of last!.families.values()) samples += f.samples.length;
    return {
      target: 'queuescope engine (collect+render, in process)',
      path,
      latency: latency(total),
      collectMs: latency(collect),
      renderMs: latency(rend),
      selfReported: {
        commands: last!.value('queuescope_scrape_redis_commands') ?? NaN,
        roundtrips: last!.value('queuescope_scrape_redis_roundtrips') ?? NaN,
      },
      redisCommandsPerScrape: delta.total,
      redisCommandsByName: delta.byName,
      ...(proxy ? { proxyTurnsPerScrape: Math.round((turns / runs) * 10) / 10 } : {}),
      bodyBytes: Buffer.byteLength(body),
      samples,
      failures,
    };
  } finally {
    await runtime.close();
  }
}

/** Scrapes `url` `warmup + runs` times like Prometheus does (scrape-timeout header, generous client timeout). */
async function scrapeHttp(url: string, warmup: number, runs: number, timeoutMs: number): Promise<{ ms: number[]; body: string }> {
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const res = await fetch(url, {
      headers: { accept: 'text/plain;version=0.0.4', 'x-prometheus-scrape-timeout-seconds': SCRAPE_TIMEOUT_HEADER },
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await res.text();
    const t1 = performance.now();
    if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${body.slice(0, 300)}`);
    if (i >= warmup) ms.push(t1 - t0);
  }
  return { ms, body };
}

function metricValue(body: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

function countSeries(body: string, prefix: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line.startsWith(prefix)) n++;
  return n;
}

async function benchSidecar(
  admin: Redis,
  raw: unknown,
  redisPort: number,
  path: Row['path'],
  runs: number,
  proxy?: RemoteDelayProxy,
): Promise<Row> {
  const config = { ...(raw as Record<string, unknown>), redis: { url: `redis://127.0.0.1:${redisPort}/0` } };
  const forced = process.env.BENCH_SIDECAR;
  const notes: string[] = [];
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  const appBuilt = existsSync(join(ROOT, 'dist', 'src', 'app.js')) && existsSync(join(ROOT, 'dist', 'src', 'http', 'auth.js'));
  if (forced !== 'engine' && appBuilt) {
    try {
      sidecar = await startSidecar('app', config);
    } catch (err) {
      notes.push(`buildApp unavailable (${(err as Error).message.split('\n')[0]}); served by node:http over the same engine + render`);
    }
  } else if (forced !== 'engine') {
    notes.push('dist/src/app.js or its imports not built; served by node:http over the same engine + render');
  }
  sidecar ??= await startSidecar('engine', config);
  try {
    const url = `http://127.0.0.1:${sidecar.port}/metrics`;
    const idle = processMemory(sidecar.proc.pid ?? 0);
    // Wait for the sidecar's Redis connection (buildApp connects in the background).
    await waitFor('the sidecar to report redis_up 1', async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      return metricValue(await res.text(), 'redis_up') === 1;
    }, 15_000, 100);
    await scrapeHttp(url, OPTS.warmup, 0, 30_000);
    const before = await commandStats(admin);
    const turns0 = proxy ? await proxy.turns() : 0;
    const { ms, body } = await scrapeHttp(url, 0, runs, 30_000);
    const turns = (proxy ? await proxy.turns() : 0) - turns0;
    const delta = perScrape(commandDelta(before, await commandStats(admin)), runs);
    const mem = processMemory(sidecar.proc.pid ?? 0);
    return {
      target: sidecar.mode === 'app' ? 'queuescope /metrics (buildApp, child process)' : 'queuescope /metrics (node:http + engine, child process)',
      path,
      latency: latency(ms),
      selfReported: {
        commands: metricValue(body, 'queuescope_scrape_redis_commands') ?? NaN,
        roundtrips: metricValue(body, 'queuescope_scrape_redis_roundtrips') ?? NaN,
      },
      redisCommandsPerScrape: delta.total,
      redisCommandsByName: delta.byName,
      ...(proxy ? { proxyTurnsPerScrape: Math.round((turns / runs) * 10) / 10 } : {}),
      ...(mem ? { rssMiB: round1(mem.rssMiB), peakRssMiB: round1(mem.peakMiB) } : {}),
      ...(idle ? { idleRssMiB: round1(idle.rssMiB) } : {}),
      bodyBytes: Buffer.byteLength(body),
      samples: countSeries(body, 'queue_'),
      notes,
    };
  } finally {
    await stopChild(sidecar.proc);
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Longest single argument Linux accepts (MAX_ARG_STRLEN = 32 pages). */
const MAX_ARG = 131_072;

async function benchExporter(
  bin: string,
  admin: Redis,
  workload: Workload,
  redisPort: number,
  path: Row['path'],
  warmup: number,
  runs: number,
  proxy?: RemoteDelayProxy,
): Promise<Row> {
  const keys = workload.exporterKeys.join(',');
  const streams = workload.exporterStreams.join(',');
  if (keys.length >= MAX_ARG || streams.length >= MAX_ARG) throw new Error(`the redis_exporter key list is too long for one argument (${keys.length} bytes)`);
  const port = await freePort();
  const proc = track(
    spawn(
      bin,
      [
        '-redis.addr', `redis://127.0.0.1:${redisPort}`,
        '-web.listen-address', `127.0.0.1:${port}`,
        '-check-single-keys', keys,
        '-check-single-streams', streams,
        '-redis-only-metrics',
        '-connection-timeout', '60s',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitFor('redis_exporter to listen', async () => {
      if (proc.exitCode !== null) throw new Error(`redis_exporter exited with ${proc.exitCode}: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok;
    }, 15_000, 100);
    const url = `http://127.0.0.1:${port}/metrics`;
    const idle = processMemory(proc.pid ?? 0);
    await scrapeHttp(url, warmup, 0, 120_000);
    const before = await commandStats(admin);
    const turns0 = proxy ? await proxy.turns() : 0;
    const { ms, body } = await scrapeHttp(url, 0, runs, 120_000);
    const turns = (proxy ? await proxy.turns() : 0) - turns0;
    const delta = perScrape(commandDelta(before, await commandStats(admin)), runs);
    const mem = processMemory(proc.pid ?? 0);
    const notes: string[] = [];
    const keySeries = countSeries(body, 'redis_key_size{');
    const streamSeries = countSeries(body, 'redis_stream_length{');
    notes.push(`redis_up ${metricValue(body, 'redis_up')}, redis_key_size series ${keySeries}/${workload.exporterKeys.length}, redis_stream_length series ${streamSeries}/${workload.exporterStreams.length}`);
    return {
      target: 'prometheus-redis-exporter /metrics (-check-single-keys/-streams)',
      path,
      latency: latency(ms),
      redisCommandsPerScrape: delta.total,
      redisCommandsByName: delta.byName,
      ...(proxy ? { proxyTurnsPerScrape: Math.round((turns / runs) * 10) / 10 } : {}),
      ...(mem ? { rssMiB: round1(mem.rssMiB), peakRssMiB: round1(mem.peakMiB) } : {}),
      ...(idle ? { idleRssMiB: round1(idle.rssMiB) } : {}),
      bodyBytes: Buffer.byteLength(body),
      notes,
    };
  } finally {
    await stopChild(proc);
  }
}

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

// ---------------------------------------------------------------- report

function fmt(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}

function printRows(rows: Row[]): void {
  const head = ['target', 'path', 'runs', 'min ms', 'median ms', 'p99 ms', 'cmds/scrape (self | redis)', 'round trips (self | proxy)', 'RSS MiB idle/after/peak', 'body KiB'];
  const lines = rows.map((r) => [
    r.target,
    r.path,
    String(r.latency.runs),
    fmt(r.latency.minMs),
    fmt(r.latency.medianMs),
    fmt(r.latency.p99Ms),
    `${r.selfReported ? fmt(r.selfReported.commands, 0) : '-'} | ${fmt(r.redisCommandsPerScrape, 0)}`,
    `${r.selfReported ? fmt(r.selfReported.roundtrips, 0) : '-'} | ${r.proxyTurnsPerScrape === undefined ? '-' : fmt(r.proxyTurnsPerScrape, 0)}`,
    r.rssMiB === undefined ? '-' : `${fmt(r.idleRssMiB, 0)}/${fmt(r.rssMiB, 0)}/${fmt(r.peakRssMiB, 0)}`,
    fmt(r.bodyBytes / 1024),
  ]);
  printTable(head, lines, 2);
}

// ---------------------------------------------------------------- main

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
  console.log(`queuescope bench: node ${process.version}, ${OPTS.runs} loopback / ${OPTS.proxyRuns} proxied scrapes; redis_exporter ${OPTS.exporterRuns} / ${OPTS.exporterProxyRuns}`);
  let redis: BenchRedis | undefined;
  let proxy: RemoteDelayProxy | undefined;
  const rows: Row[] = [];
  const result: Record<string, unknown> = { startedAt: new Date(started).toISOString(), node: process.version, options: OPTS };
  try {
    redis = await startRedis();
    const admin = redis.client;
    const workload = await loadWorkload(admin);
    const info = await admin.info('memory');
    const usedMiB = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN) / 1048576;
    const dbsize = await admin.dbsize();
    const serverVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    console.log(
      `redis ${serverVersion} on 127.0.0.1:${redis.port}; workload loaded in ${fmt(workload.loadMs, 0)} ms: ${dbsize} keys, ${fmt(usedMiB)} MiB; ` +
        workload.parts.map((p) => `${p.name} ${JSON.stringify(p.summary)}`).join('; '),
    );
    result.workload = { loadMs: Math.round(workload.loadMs), keys: dbsize, usedMemoryMiB: round1(usedMiB), redisVersion: serverVersion, parts: workload.parts.map((p) => ({ name: p.name, ...p.summary })) };

    proxy = await startRemoteDelayProxy(fileURLToPath(import.meta.url), redis.port, OPTS.delayMs, track);
    const rttDirect = await pingRtt(redis.port);
    const rttProxy = await pingRtt(proxy.port);
    console.log(`PING RTT: loopback ${rttDirect.toFixed(3)} ms, through the delay proxy ${rttProxy.toFixed(3)} ms (target ${2 * OPTS.delayMs} ms)`);
    result.pingRttMs = { loopback: rttDirect, proxied: rttProxy };

    const raw = rawConfig(workload, redis.port);
    const config = configSchema.parse(raw);
    const exporterBin = findBinary('prometheus-redis-exporter') ?? findBinary('redis_exporter');
    if (!exporterBin) console.log('prometheus-redis-exporter is not installed: no comparison (apt-get install prometheus-redis-exporter)');

    const paths: { path: Row['path']; port: number; runs: number; exporterRuns: number; exporterWarmup: number; proxy?: RemoteDelayProxy }[] = [
      { path: 'loopback', port: redis.port, runs: OPTS.runs, exporterRuns: OPTS.exporterRuns, exporterWarmup: 1 },
      { path: '2ms-rtt', port: proxy.port, runs: OPTS.proxyRuns, exporterRuns: OPTS.exporterProxyRuns, exporterWarmup: 0, proxy },
    ];
    for (const p of paths) {
      if (p.runs > 0) {
        console.log(`[${p.path}] queuescope engine…`);
        rows.push(await benchEngine(admin, config, p.port, p.path, p.runs, p.proxy));
        console.log(`[${p.path}] queuescope sidecar over HTTP…`);
        rows.push(await benchSidecar(admin, raw, p.port, p.path, p.runs, p.proxy));
      }
      if (exporterBin && p.exporterRuns > 0) {
        console.log(`[${p.path}] redis_exporter (${p.exporterWarmup} warm-up + ${p.exporterRuns} scrapes)…`);
        try {
          rows.push(await benchExporter(exporterBin, admin, workload, p.port, p.path, p.exporterWarmup, p.exporterRuns, p.proxy));
        } catch (err) {
          console.error(`redis_exporter on ${p.path} failed: ${(err as Error).message}`);
        }
      }
    }

    console.log('');
    printRows(rows);
    for (const r of rows) {
      if (r.collectMs && r.renderMs) {
        console.log(`  ${r.path} engine split: collect median ${fmt(r.collectMs.medianMs)} ms (p99 ${fmt(r.collectMs.p99Ms)}), render median ${fmt(r.renderMs.medianMs)} ms (p99 ${fmt(r.renderMs.p99Ms)}), ${r.samples} samples`);
      }
      for (const f of r.failures ?? []) console.log(`  ${r.path} ${r.target}: collection failure: ${f}`);
      for (const n of r.notes ?? []) console.log(`  ${r.path} ${r.target}: ${n}`);
    }
    const ratios: Record<string, unknown> = {};
    for (const path of ['loopback', '2ms-rtt'] as const) {
      const qs = rows.find((r) => r.path === path && r.target.startsWith('queuescope /metrics'));
      const ex = rows.find((r) => r.path === path && r.target.startsWith('prometheus-redis-exporter'));
      if (!qs || !ex) continue;
      const ratio = ex.latency.medianMs / qs.latency.medianMs;
      ratios[path] = {
        medianRatio: round1(ratio),
        p99Ratio: round1(ex.latency.p99Ms / qs.latency.p99Ms),
        commandsRatio: round1(ex.redisCommandsPerScrape / qs.redisCommandsPerScrape),
        meetsTarget10x: ratio >= 10,
      };
      console.log(
        `${path}: redis_exporter median ${fmt(ex.latency.medianMs)} ms vs queuescope ${fmt(qs.latency.medianMs)} ms -> ${ratio.toFixed(1)}x faster ` +
          `(${ratio >= 10 ? 'meets' : 'MISSES'} the 10x target); round trips ${fmt(ex.proxyTurnsPerScrape ?? ex.redisCommandsPerScrape, 0)} vs ${fmt(qs.selfReported?.roundtrips, 0)}`,
      );
    }
    result.rows = rows;
    result.ratios = ratios;
  } finally {
    await proxy?.close();
    await redis?.stop();
  }

  for (const name of ['cluster', 'load']) {
    const r = await runOtherBench(name);
    if (r !== undefined) {
      result[name] = r;
      console.log(JSON.stringify(r, null, 2));
    }
  }

  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  const out = join(ROOT, 'test-artifacts', 'bench.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out} (${result.durationSeconds} s)`);
}

if (process.argv[2] === '--sidecar') {
  void sidecarMain();
} else if (process.argv[2] === '--delay-proxy') {
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
