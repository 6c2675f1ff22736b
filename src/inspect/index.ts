/**
 * The inspectors by framework, and the catalog of queues a view may open:
 * only queues the sidecar knows — declared under `queues:` or found by the
 * last discovery pass — never a key taken from the request.
 */
import type { AsynqQueue } from '../collect/queues/asynq.js';
import type { BullmqQueue } from '../collect/queues/bullmq.js';
import type { CeleryQueue } from '../collect/queues/celery.js';
import type { ListQueue } from '../collect/queues/list.js';
import type { RqQueue } from '../collect/queues/rq.js';
import { SIDEKIQ_GLOBAL_QUEUE, type SidekiqQueue } from '../collect/queues/sidekiq.js';
import type { StreamQueue } from '../collect/queues/stream.js';
import type { Config } from '../config/schema.js';
import type { DiscoveredQueues } from '../discovery/find.js';
import { declaredQueues } from '../runtime.js';
import { asynqInspector } from './asynq.js';
import { bullmqInspector } from './bullmq.js';
import { celeryInspector } from './celery.js';
import { listInspector } from './list.js';
import { rqInspector } from './rq.js';
import { sidekiqInspector } from './sidekiq.js';
import { streamInspector } from './stream.js';
import type { Framework, Inspector } from './types.js';
import { zsetInspector } from './zset.js';

/** Every framework's inspector (typed loosely: the catalog pairs each with its own queue shape). */
export const INSPECTORS: Readonly<Record<Framework, Inspector<never>>> = {
  asynq: asynqInspector,
  bullmq: bullmqInspector,
  sidekiq: sidekiqInspector,
  celery: celeryInspector,
  rq: rqInspector,
  stream: streamInspector,
  list: listInspector,
  zset: zsetInspector,
};

/** A queue a view can open: its inspector and the queue object that inspector plans from. */
export interface KnownQueue {
  readonly name: string;
  readonly framework: Framework;
  readonly inspector: Inspector<unknown>;
  readonly queue: unknown;
  /** `latencyThreshold`, ms (streams' stuck threshold; shown in the view). */
  readonly latencyThresholdMs: number;
}

/** What the catalog reads of a runtime (`Runtime` satisfies it). */
export interface CatalogRuntime {
  readonly config: Config;
  readonly discovery: { readonly queues: DiscoveredQueues };
}

function entry<Q extends { name: string; latencyThreshold: number }>(framework: Framework, inspector: Inspector<Q>, q: Q): KnownQueue {
  return { name: q.name, framework, inspector: inspector as Inspector<unknown>, queue: q, latencyThresholdMs: q.latencyThreshold };
}

/** Every queue known now: declared first (they win), then discovered. */
export function knownQueues(runtime: CatalogRuntime): KnownQueue[] {
  const out: KnownQueue[] = [];
  const declared = declaredQueues(runtime.config.queues);
  for (const q of declared.list) out.push(entry('list', listInspector, q));
  for (const q of declared.stream) out.push(entry('stream', streamInspector, q));
  for (const q of declared.zset) out.push(entry('zset', zsetInspector, q));
  const d = runtime.discovery.queues;
  const found = <Q>(name: Framework): Q[] => (d.get(name)?.queues ?? []) as Q[];
  for (const q of found<AsynqQueue>('asynq')) out.push(entry('asynq', asynqInspector, q));
  for (const q of found<BullmqQueue>('bullmq')) out.push(entry('bullmq', bullmqInspector, q));
  for (const q of found<SidekiqQueue>('sidekiq')) out.push(entry('sidekiq', sidekiqInspector, q));
  // The global schedule / retry / dead sets, as the `queue="*"` series report them.
  const ns = d.get('sidekiq')?.deployments[0];
  if (ns !== undefined) out.push(entry('sidekiq', sidekiqInspector, { name: SIDEKIQ_GLOBAL_QUEUE, key: `${ns}queues`, namespace: ns, backlogThreshold: 0, latencyThreshold: 0 }));
  for (const q of found<CeleryQueue>('celery')) out.push(entry('celery', celeryInspector, q));
  for (const q of found<RqQueue>('rq')) out.push(entry('rq', rqInspector, q));
  for (const q of found<StreamQueue>('stream')) out.push(entry('stream', streamInspector, q));
  for (const q of found<ListQueue>('list')) out.push(entry('list', listInspector, q));
  return out;
}

/** The outcome of resolving `name` (and optional `framework`) against the catalog. */
export type Resolved =
  | { kind: 'found'; queue: KnownQueue }
  | { kind: 'unknown' }
  | { kind: 'ambiguous'; frameworks: Framework[] };

/**
 * Finds a known queue by name; `framework` is needed only when several
 * frameworks have a queue of that name (asynq `default` and Sidekiq `default`).
 */
export function resolveQueue(runtime: CatalogRuntime, name: string, framework: string | undefined): Resolved {
  const matches = knownQueues(runtime).filter((q) => q.name === name && (framework === undefined || framework === '' || q.framework === framework));
  if (matches.length === 0) return { kind: 'unknown' };
  const first = matches[0]!;
  const frameworks = [...new Set(matches.map((m) => m.framework))];
  if (frameworks.length > 1) return { kind: 'ambiguous', frameworks };
  return { kind: 'found', queue: first };
}
