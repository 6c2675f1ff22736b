/**
 * One discovery pass: reads the frameworks' queue registries (one pipelined
 * batch of SMEMBERS) and SCANs for the layouts that keep none, and returns
 * the queues found. Read-only; never KEYS.
 *
 * | entry | how queues are found |
 * |---|---|
 * | asynq | SMEMBERS `asynq:queues` (`internal/base/base.go` AllQueues) |
 * | sidekiq | SMEMBERS `<ns:>queues` (`lib/sidekiq/api.rb`) |
 * | rq | SMEMBERS `rq:queues`, members are queue keys `rq:queue:<q>` (`rq/queue.py`) |
 * | bullmq | SCAN MATCH `<prefix>:*:[im][de]*`, keeping `<prefix>:<q>:meta` (HASH) and `<prefix>:<q>:id` (STRING), checked with one batch of TYPE |
 * | celery | `queues:` names as given; entries with glob characters SCAN MATCH … TYPE list (priority sub-lists map to their queue) |
 * | stream | SCAN MATCH `match` TYPE stream |
 * | list | SCAN MATCH `match` TYPE list |
 *
 * Order (which also decides what `maxQueues` cuts): registry frameworks and
 * BullMQ in config order, then Celery patterns, then stream and list
 * patterns. Stream, list and Celery patterns skip keys that belong to a
 * framework configured beside them (`asynq:*`, `<prefix>:*` of BullMQ,
 * `rq:*`, Sidekiq's `queue:<q>` and Celery's lists), so the default
 * `stream match "*"` does not report BullMQ's `events` streams as queues.
 * A discovered queue whose main key (or, for stream and list, name) is a
 * declared queue's is left out: the declared entry wins.
 */
import type { DiscoverConfig } from '../config/schema.js';
import { asynqKeys, ASYNQ_QUEUES, type AsynqQueue } from '../collect/queues/asynq.js';
import { bullmqKeys, type BullmqQueue } from '../collect/queues/bullmq.js';
import { celeryBaseName, celeryKeys, CELERY_PRIORITY_SEP, type CeleryQueue } from '../collect/queues/celery.js';
import type { Framework } from '../collect/queues/layout.js';
import type { ListQueue } from '../collect/queues/list.js';
import { rqKeys, RQ_QUEUE_PREFIX, RQ_QUEUES, type RqQueue } from '../collect/queues/rq.js';
import { sidekiqKeys, sidekiqPrefix, type SidekiqQueue } from '../collect/queues/sidekiq.js';
import type { StreamQueue } from '../collect/queues/stream.js';
import type { Command } from '../collect/types.js';
import type { BatchExecutor, RoutedCommand } from '../redis/batch.js';

/** What a pass found, per layout. */
export interface DiscoveredQueues {
  readonly asynq: AsynqQueue[];
  readonly bullmq: BullmqQueue[];
  readonly sidekiq: SidekiqQueue[];
  /** key prefixes (`''`, `myapp:`) of Sidekiq deployments whose `queues` set is not empty: their global states are read */
  readonly sidekiqGlobal: string[];
  readonly celery: CeleryQueue[];
  readonly rq: RqQueue[];
  readonly stream: StreamQueue[];
  readonly list: ListQueue[];
}

/** Layouts discovery reports (`framework` label of `queuescope_discovered_queues`). */
export type DiscoveredFramework = Exclude<Framework, 'zset'>;

/** An empty result. */
export function emptyQueues(): DiscoveredQueues {
  return { asynq: [], bullmq: [], sidekiq: [], sidekiqGlobal: [], celery: [], rq: [], stream: [], list: [] };
}

/** Number of queues per layout (Sidekiq's global pseudo-queue not counted). */
export function countQueues(q: DiscoveredQueues): Record<DiscoveredFramework, number> {
  return {
    asynq: q.asynq.length, bullmq: q.bullmq.length, sidekiq: q.sidekiq.length, celery: q.celery.length,
    rq: q.rq.length, stream: q.stream.length, list: q.list.length,
  };
}

/** A pass's outcome. */
export interface PassResult {
  readonly queues: DiscoveredQueues;
  /** true when `maxQueues` stopped the pass */
  readonly truncated: boolean;
  /** things that could not be read but did not stop the pass (a registry of the wrong type…) */
  readonly problems: string[];
}

/** Limits and context of one pass. */
export interface PassOptions {
  /** SCAN COUNT hint (`scrape.scanCount`) */
  readonly scanCount: number;
  /** cap on queues found (`scrape.maxQueues`) */
  readonly maxQueues: number;
  /** absolute unix ms by which each registry / TYPE batch must answer */
  readonly batchDeadlineMs: () => number;
  /** declared queues (`queues:`), which win over discovered ones */
  readonly declared: readonly { name: string; key: string }[];
  /** polled between SCAN pages; true stops the pass (shutdown) */
  readonly stopped?: () => boolean;
}

/** The pass could not talk to Redis; the caller keeps its last result. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

/** Escapes Redis glob characters (`* ? [ ] \`) so `text` matches itself in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** True when a Celery `queues:` entry is a SCAN pattern rather than a name. */
export function isGlob(text: string): boolean {
  return /(?<!\\)[*?[]/.test(text);
}

/** SCANs `match` (optionally `TYPE type`) handing each key to `onKey`; `false` from it stops the scan. */
type Scan = (match: string, type: string | undefined, onKey: (key: string) => boolean | void) => Promise<void>;

interface Thresholds {
  readonly backlogThreshold: number;
  readonly latencyThreshold: number;
}

const thresholds = (e: Thresholds): Thresholds => ({ backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold });

/**
 * Runs one discovery pass.
 * @throws DiscoveryError when Redis cannot be reached (a batch failed as a whole or a SCAN was rejected).
 */
export async function discoverQueues(entries: readonly DiscoverConfig[], executor: BatchExecutor, opts: PassOptions): Promise<PassResult> {
  const out = emptyQueues();
  const problems: string[] = [];
  const declaredKeys = new Set(opts.declared.map((d) => d.key));
  const declaredNames = new Set(opts.declared.map((d) => d.name));
  let total = 0;
  let truncated = false;
  /** Counts one queue against the cap; false (and truncated) when it is reached. */
  const admit = (): boolean => {
    if (total >= opts.maxQueues) {
      truncated = true;
      return false;
    }
    total++;
    return true;
  };
  const full = () => truncated || opts.stopped?.() === true;
  const scan: Scan = async (match, type, onKey) => {
    try {
      await executor.scanKeys({ match, count: opts.scanCount, ...(type ? { type } : {}) }, (keys) => {
        for (const key of keys) {
          if (full() || onKey(key) === false) return false;
        }
        return !full();
      });
    } catch (err) {
      throw new DiscoveryError(`couldn't SCAN MATCH ${match}${type ? ` TYPE ${type}` : ''}: ${(err as Error).message}`);
    }
  };

  // 1. Registries, one batch.
  const registryEntries = entries.filter((e) => e.framework === 'asynq' || e.framework === 'sidekiq' || e.framework === 'rq');
  const registryKey = (e: DiscoverConfig): string =>
    e.framework === 'asynq' ? ASYNQ_QUEUES : e.framework === 'sidekiq' ? sidekiqKeys(sidekiqPrefix(e.namespace)).queues : RQ_QUEUES;
  const members = new Map<DiscoverConfig, string[]>();
  if (registryEntries.length > 0) {
    const commands: RoutedCommand[] = registryEntries.map((e) => ({ command: ['SMEMBERS', registryKey(e)] as Command, routingKey: registryKey(e) }));
    const res = await executor.exec(commands, opts.batchDeadlineMs());
    if (!res.ok) throw new DiscoveryError(`couldn't read the queue registries: ${res.error ?? 'redis batch failed'}`);
    registryEntries.forEach((e, i) => {
      const [err, value] = res.replies[i] ?? [new Error('no reply'), null];
      if (err || !Array.isArray(value)) {
        const why = err ? (err.message.startsWith('WRONGTYPE') ? 'key holds the wrong type' : err.message) : 'expected an array reply';
        problems.push(`couldn't read SMEMBERS ${registryKey(e)} (${e.framework} queue registry): ${why}`);
        return;
      }
      members.set(e, value.map((v) => String(v)).sort());
    });
  }

  // Sidekiq's queue keys are known once its registry is read; they are skipped by the patterns below.
  const ownedKeys = new Set<string>();
  const seen = { asynq: new Set<string>(), bullmq: new Set<string>(), sidekiq: new Set<string>(), celery: new Set<string>(), rq: new Set<string>(), stream: new Set<string>(), list: new Set<string>() };

  // 2. Registry frameworks and BullMQ, in config order.
  for (const e of entries) {
    if (full()) break;
    if (e.framework === 'asynq') {
      for (const name of members.get(e) ?? []) {
        const key = asynqKeys(name).pending;
        if (seen.asynq.has(name) || declaredKeys.has(key)) continue;
        if (!admit()) break;
        seen.asynq.add(name);
        out.asynq.push({ name, key, ...thresholds(e) });
      }
    } else if (e.framework === 'sidekiq') {
      const ns = sidekiqPrefix(e.namespace);
      const names = members.get(e) ?? [];
      if (names.length > 0 && !out.sidekiqGlobal.includes(ns)) out.sidekiqGlobal.push(ns);
      for (const name of names) {
        const key = sidekiqKeys(ns).queue(name);
        ownedKeys.add(key);
        if (seen.sidekiq.has(name) || declaredKeys.has(key)) continue;
        if (!admit()) break;
        seen.sidekiq.add(name);
        out.sidekiq.push({ name, key, namespace: ns, ...thresholds(e) });
      }
    } else if (e.framework === 'rq') {
      for (const member of members.get(e) ?? []) {
        if (!member.startsWith(RQ_QUEUE_PREFIX)) continue;
        const name = member.slice(RQ_QUEUE_PREFIX.length);
        const key = rqKeys(name).queue;
        if (name === '' || seen.rq.has(name) || declaredKeys.has(key)) continue;
        if (!admit()) break;
        seen.rq.add(name);
        out.rq.push({ name, key, ...thresholds(e) });
      }
    } else if (e.framework === 'bullmq') {
      const names = await findBullmqQueues(e.prefix, executor, opts, scan);
      for (const name of names) {
        const key = bullmqKeys(e.prefix, name).wait;
        if (seen.bullmq.has(name) || declaredKeys.has(key)) continue;
        if (!admit()) break;
        seen.bullmq.add(name);
        out.bullmq.push({ name, key, prefix: e.prefix, ...thresholds(e) });
      }
    }
  }

  // 3. Celery: names as given, patterns by SCAN … TYPE list.
  const frameworkOwns = ownership(entries, ownedKeys);
  const celeryEntries = entries.filter((e): e is Extract<DiscoverConfig, { framework: 'celery' }> => e.framework === 'celery');
  for (const e of celeryEntries) {
    const addCelery = (name: string): void => {
      if (name === '' || seen.celery.has(name) || declaredKeys.has(name) || full()) return;
      if (!admit()) return;
      seen.celery.add(name);
      out.celery.push({ name, key: name, prioritySteps: e.prioritySteps, ...thresholds(e) });
      for (const k of celeryKeys(name, e.prioritySteps)) ownedKeys.add(k);
    };
    for (const q of e.queues) {
      if (full()) break;
      if (!isGlob(q)) {
        addCelery(q.replace(/\\(.)/g, '$1'));
        continue;
      }
      const found = new Set<string>();
      await scan(q, 'list', (key) => {
        if (!frameworkOwns(key, 'celery')) found.add(celeryBaseName(key));
      });
      for (const name of [...found].sort()) addCelery(name);
    }
  }

  // 4. Stream and list patterns.
  for (const e of entries) {
    if (full()) break;
    if (e.framework !== 'stream' && e.framework !== 'list') continue;
    const kind = e.framework;
    const found: string[] = [];
    await scan(e.match, kind, (key) => {
      if (seen[kind].has(key) || declaredKeys.has(key) || declaredNames.has(key) || frameworkOwns(key, kind)) return;
      if (!admit()) return;
      seen[kind].add(key);
      found.push(key);
    });
    found.sort();
    for (const key of found) {
      if (e.framework === 'stream') {
        out.stream.push({ name: key, key, type: 'stream', groups: [], consumers: e.consumers, ...thresholds(e) });
      } else {
        out.list.push({ name: key, key, type: 'list', oldestAt: e.oldestAt, windows: [60_000], ...thresholds(e) });
      }
    }
  }

  return { queues: out, truncated, problems };
}

/**
 * Whether `key` belongs to a framework configured in `entries` (other than
 * `asking`), so generic patterns leave it alone.
 */
function ownership(entries: readonly DiscoverConfig[], ownedKeys: ReadonlySet<string>): (key: string, asking: DiscoveredFramework) => boolean {
  const prefixes: string[] = [];
  let celery = false;
  for (const e of entries) {
    if (e.framework === 'asynq') prefixes.push('asynq:');
    else if (e.framework === 'rq') prefixes.push('rq:');
    else if (e.framework === 'bullmq') prefixes.push(`${e.prefix}:`);
    else if (e.framework === 'celery') celery = true;
  }
  return (key, asking) => {
    if (ownedKeys.has(key) || prefixes.some((p) => key.startsWith(p))) return true;
    // Celery's priority sub-lists (`q\x06\x16<step>`) are Celery's even when no pattern found their queue.
    return celery && asking !== 'celery' && key.includes(CELERY_PRIORITY_SEP);
  };
}

/** `<prefix>:<name>:meta` or `:id` → name; BullMQ refuses names containing `:` (`QueueBase` constructor). */
function bullmqMarker(prefix: string, key: string): { name: string; marker: 'meta' | 'id' } | undefined {
  const head = `${prefix}:`;
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const marker = rest.endsWith(':meta') ? 'meta' : rest.endsWith(':id') ? 'id' : undefined;
  if (!marker) return undefined;
  const name = rest.slice(0, rest.length - marker.length - 1);
  if (name === '' || name.includes(':')) return undefined;
  return { name, marker };
}

/**
 * BullMQ queues under `prefix`: one SCAN for both marker keys
 * (`<prefix>:*:[im][de]*` matches `…:meta` and `…:id` and a few others,
 * filtered exactly here), then one TYPE batch: `meta` must be a HASH
 * (`Queue` writes it on creation) or `id` a STRING (INCR per added job).
 * @returns queue names, sorted
 */
async function findBullmqQueues(
  prefix: string,
  executor: BatchExecutor,
  opts: PassOptions,
  scan: Scan,
): Promise<string[]> {
  const candidates = new Map<string, { name: string; marker: 'meta' | 'id' }>();
  const names = new Set<string>();
  await scan(`${escapeGlob(prefix)}:*:[im][de]*`, undefined, (key) => {
    const m = bullmqMarker(prefix, key);
    if (!m || candidates.has(key)) return;
    candidates.set(key, m);
    names.add(m.name);
    // Twice the cap in candidates is enough to fill it (a few may fail the TYPE check): stop reading the keyspace.
    return names.size < 2 * opts.maxQueues;
  });
  if (candidates.size === 0) return [];
  const keys = [...candidates.keys()];
  const res = await executor.exec(keys.map((key) => ({ command: ['TYPE', key] as Command, routingKey: key })), opts.batchDeadlineMs());
  if (!res.ok) throw new DiscoveryError(`couldn't check BullMQ marker keys: ${res.error ?? 'redis batch failed'}`);
  const ok = new Set<string>();
  keys.forEach((key, i) => {
    const c = candidates.get(key);
    const type = res.replies[i]?.[1];
    if (!c) return;
    if ((c.marker === 'meta' && type === 'hash') || (c.marker === 'id' && type === 'string')) ok.add(c.name);
  });
  return [...ok].sort();
}
