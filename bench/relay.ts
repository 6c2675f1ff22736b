/**
 * Relay benchmark (issue 13): what the durable outbox costs and what the
 * digest fitting saves. `npx tsc -p tsconfig.json && node dist/bench/relay.js`
 * prints a table; `run()` returns the figures for bench/run.ts.
 *
 * - accept: notifications stored per second in the local SQLite store (WAL,
 *   synchronous=FULL) on this machine's disk, one after the other (an fsync
 *   each) and 300 at once (group commit);
 * - digest fit: choosing the next digest from 1,000 queued notifications,
 *   by measured sizes (what the outbox does) vs rendering every growing
 *   prefix (what it did);
 * - compact: stored bytes of one hostile large payload (20 annotations of
 *   30,000 CJK characters), raw JSON vs compact, and heap growth for 250 of
 *   them queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { compactPayload, dedupeKey, groupId } from '../src/relay/compact.js';
import { relayMetrics } from '../src/relay/metrics.js';
import { DEFAULT_TUNING, Outbox } from '../src/relay/outbox.js';
import { mergePayloads, renderMessage } from '../src/relay/render.js';
import { dingtalkTarget } from '../src/relay/robots.js';
import { SqliteStore } from '../src/relay/sqlite-store.js';
import type { StoredEntry } from '../src/relay/store.js';
import type { WebhookAlert, WebhookPayload } from '../src/relay/payload.js';

function alert(i: number, description = `队列 queue-${i} 的等待任务数超过阈值 1000 已持续 5 分钟。`): WebhookAlert {
  return {
    status: 'firing',
    labels: { alertname: `Bench${i}`, severity: 'critical', queue: `queue-${i}`, instance: 'queuescope:9640', job: 'queuescope' },
    annotations: { summary: `队列 queue-${i} 积压`, description },
    startsAt: '2024-03-01T02:03:04.123Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus:9090/graph?g0.expr=queue_tasks&i=${i}`,
    fingerprint: `fp${i.toString(16).padStart(14, '0')}`,
  };
}

function payload(alerts: WebhookAlert[]): WebhookPayload {
  const a0 = alerts[0]!;
  return {
    version: '4',
    groupKey: `{}:{alertname="${a0.labels.alertname}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'critical',
    groupLabels: { alertname: a0.labels.alertname ?? '' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Accepts per second: one after the other (each waits for its fsync), and `n` at once (group commit). */
async function benchAccept(n: number): Promise<{ sequential: number; concurrent: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'qs-bench-outbox-'));
  const store = new SqliteStore({ path: dir, maxBytes: 1 << 30 });
  const one = (i: number) => {
    const p = compactPayload(payload([alert(i)]));
    return store.accept('dingtalk/ops', groupId(p), dedupeKey('dingtalk/ops', p), p);
  };
  try {
    let started = performance.now();
    for (let i = 0; i < n; i++) await one(i);
    const sequential = n / ((performance.now() - started) / 1000);
    started = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => one(n + i)));
    const concurrent = n / ((performance.now() - started) / 1000);
    return { sequential, concurrent };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchFit(n: number): { measuredMs: number; prefixMs: number; taken: number; prefixTaken: number } {
  const target = dingtalkTarget('ops', { url: 'http://127.0.0.1:9/robot/send?access_token=x', mention: { mobiles: [], userIds: [], all: false }, template: '' });
  const store = new SqliteStore({ path: ':memory:', maxBytes: 1 << 30 });
  const outbox = new Outbox({
    target,
    templatePath: '',
    timeZone: 'Asia/Shanghai',
    rateLimit: { count: 20, windowMs: 60_000 },
    timeoutMs: 1000,
    tuning: DEFAULT_TUNING,
    metrics: relayMetrics(new Registry()),
    log: silent,
    store,
  });
  const entries: StoredEntry[] = Array.from({ length: n }, (_, i) => {
    const p = compactPayload(payload([alert(i)]));
    return { id: String(i + 1), acceptedAt: Date.now(), payload: p, bytes: JSON.stringify(p).length };
  });
  const take = (outbox as unknown as { takeBatch(e: StoredEntry[]): { batch: StoredEntry[] } }).takeBatch.bind(outbox);
  let started = performance.now();
  const taken = take(entries).batch.length;
  const measuredMs = performance.now() - started;
  // the previous way: render every growing prefix until one is cut
  const opts = { timeZone: 'Asia/Shanghai', maxBytes: target.maxBytes, mentionSuffix: '' };
  started = performance.now();
  let k = 1;
  while (k < n && !renderMessage(mergePayloads(entries.slice(0, k + 1).map((e) => e.payload)), opts).truncated) k++;
  const prefixMs = performance.now() - started;
  void outbox.close(0);
  return { measuredMs, prefixMs, taken, prefixTaken: k };
}

async function benchCompact(queued: number): Promise<{ rawBytes: number; compactBytes: number; heapPerPayloadKiB: number }> {
  const big = alert(1);
  big.annotations = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, '告'.repeat(30_000)]));
  const raw = payload([big]);
  const rawBytes = Buffer.byteLength(JSON.stringify(raw));
  const compactBytes = Buffer.byteLength(JSON.stringify(compactPayload(raw)));
  const dir = mkdtempSync(join(tmpdir(), 'qs-bench-outbox-'));
  const store = new SqliteStore({ path: dir, maxBytes: 1 << 30 });
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < queued; i++) {
    const p = compactPayload(payload([{ ...big, fingerprint: `big${i}`, labels: { ...big.labels, alertname: `Big${i}` } }]));
    await store.accept('dingtalk/ops', groupId(p), dedupeKey('dingtalk/ops', p), p);
  }
  global.gc?.();
  const heapPerPayloadKiB = (process.memoryUsage().heapUsed - before) / queued / 1024;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { rawBytes, compactBytes, heapPerPayloadKiB };
}

/** Runs the relay benchmarks; figures in the units their names say. */
export async function run(): Promise<Record<string, unknown>> {
  const accept = await benchAccept(300);
  const fit = benchFit(1000);
  const compact = await benchCompact(250);
  return {
    acceptSequentialPerSecond: Math.round(accept.sequential),
    acceptConcurrentPerSecond: Math.round(accept.concurrent),
    fitMeasuredMs: Number(fit.measuredMs.toFixed(1)),
    fitPrefixRenderMs: Number(fit.prefixMs.toFixed(1)),
    fitTaken: fit.taken,
    fitPrefixTaken: fit.prefixTaken,
    hostilePayloadRawBytes: compact.rawBytes,
    hostilePayloadStoredBytes: compact.compactBytes,
    heapPerQueuedHostilePayloadKiB: Number(compact.heapPerPayloadKiB.toFixed(1)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  for (const [k, v] of Object.entries(r)) process.stdout.write(`${k.padEnd(34)} ${v}\n`);
}
