/**
 * The monitor's view of one collection, indexed once: every queue with its
 * own samples, and every component's values, so the monitor API can answer
 * any page of queues in time proportional to the page (issue 10 defect 5:
 * `Collection.find` per queue made one call O(queues x samples) and hung at
 * 100,000 queues).
 *
 * Built in one pass over the queue and component families (O(samples), read
 * back from the collection's exposition lines) and memoised per collection: the /metrics scrapes and every monitor call that
 * share a collection share its index.
 */
import type { Collection, Sample } from '../collect/collection.js';

/** The samples of one queue (`queue` + `framework` labels). */
export interface IndexedQueue {
  readonly name: string;
  readonly framework: string;
  /** `queue_tasks` samples (state[, group] labels). */
  readonly tasks: Sample[];
  /** `queue_oldest_task_age_seconds` samples (one, or one per stream group). */
  readonly ages: Sample[];
  /** `queue_window_tasks` samples (window label). */
  readonly windows: Sample[];
  processed: number | undefined;
  failed: number | undefined;
  enqueued: number | undefined;
  paused: number | undefined;
}

/** One collection, indexed. */
export interface CollectionIndex {
  /** Queues in first-seen order: `queue_info` first (present even when Redis is down), then any only `queue_tasks` names. */
  readonly queues: readonly IndexedQueue[];
  /** Queue by {@link queueId}. */
  readonly byId: ReadonlyMap<string, IndexedQueue>;
  /** Per component name: family -> value of its `queue_component_*` samples. */
  readonly components: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Sum of `waiting` over every queue (the status page's backlog row); null when no queue reports one. */
  readonly totalWaiting: number | null;
  /** Queue names used by more than one framework (keyed `name@framework` in the API). */
  readonly sharedNames: ReadonlySet<string>;
}

/** Map key of a queue: framework and name (the pair identifies a queue, metrics.md). */
export const queueId = (framework: string, name: string): string => `${framework}\u0000${name}`;

const memo = new WeakMap<Collection, CollectionIndex>();

/** The index of `collection`, built on first use (see the module comment). */
export function indexCollection(collection: Collection): CollectionIndex {
  let index = memo.get(collection);
  if (!index) {
    index = build(collection);
    memo.set(collection, index);
  }
  return index;
}

function build(collection: Collection): CollectionIndex {
  const byId = new Map<string, IndexedQueue>();
  const queues: IndexedQueue[] = [];
  const entry = (s: Sample): IndexedQueue | undefined => {
    const { queue, framework } = s.labels;
    if (queue === undefined || framework === undefined) return undefined;
    const id = queueId(framework, queue);
    let q = byId.get(id);
    if (!q) {
      q = { name: queue, framework, tasks: [], ages: [], windows: [], processed: undefined, failed: undefined, enqueued: undefined, paused: undefined };
      byId.set(id, q);
      queues.push(q);
    }
    return q;
  };
  const each = (family: string, f: (q: IndexedQueue, s: Sample) => void): void => {
    const fam = collection.family(family);
    if (!fam) return;
    for (const s of fam.samples) {
      const q = entry(s);
      if (q) f(q, s);
    }
  };
  // queue_info first: it decides the order (declared queues, then discovered, as planned).
  each('queue_info', () => undefined);
  let totalWaiting: number | null = null;
  each('queue_tasks', (q, s) => {
    q.tasks.push(s);
    if (s.labels.state === 'waiting') totalWaiting = (totalWaiting ?? 0) + s.value;
  });
  each('queue_oldest_task_age_seconds', (q, s) => q.ages.push(s));
  each('queue_window_tasks', (q, s) => q.windows.push(s));
  // First sample wins, as Collection.value does.
  each('queue_processed_total', (q, s) => (q.processed ??= s.value));
  each('queue_failed_total', (q, s) => (q.failed ??= s.value));
  each('queue_enqueued_total', (q, s) => (q.enqueued ??= s.value));
  each('queue_paused', (q, s) => (q.paused ??= s.value));

  const components = new Map<string, Map<string, number>>();
  for (const name of collection.lines.keys()) {
    if (!name.startsWith('queue_component_')) continue;
    for (const s of collection.find(name)) {
      const c = s.labels.component;
      if (c === undefined) continue;
      let m = components.get(c);
      if (!m) components.set(c, (m = new Map()));
      if (!m.has(name)) m.set(name, s.value);
    }
  }

  const seen = new Set<string>();
  const sharedNames = new Set<string>();
  for (const q of queues) {
    if (seen.has(q.name)) sharedNames.add(q.name);
    seen.add(q.name);
  }
  return { queues, byId, components, totalWaiting, sharedNames };
}
