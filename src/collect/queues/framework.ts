/**
 * A framework module: everything queuescope knows about one queue layout, in
 * one place — how its queues are read ({@link QueueLayout}), the `discover:`
 * entry that finds them and how ({@link DiscoverSpec}), the `queues:` entry
 * that declares one by hand ({@link DeclareSpec}), and a slot for the task
 * inspector. Config (`config/schema.ts`), discovery (`discovery/`) and the
 * runtime loop over the list in `registry.ts`; adding a framework is its
 * module, its test and one line there.
 */
import type { z } from 'zod';
import type { Command, Reply } from '../../redis/command.js';
import type { QueueIdentity, QueueLayout } from './layout.js';

/** Fields every `discover:` entry has (the thresholds come from `config/fields.ts`). */
export interface DiscoverEntry {
  readonly framework: string;
  readonly backlogThreshold: number;
  readonly latencyThreshold: number;
}

/** A zod schema of a `discover:` entry: a strict object with a `framework` literal. */
export type DiscoverEntrySchema = z.ZodType<DiscoverEntry> & z.core.$ZodTypeDiscriminable;

/** A zod schema of a `queues:` entry: a strict object with a `type` literal. */
export type DeclareEntrySchema = z.ZodType<{ readonly type: string; readonly key: string; readonly name?: string | undefined }> & z.core.$ZodTypeDiscriminable;

/**
 * How a discovery pass finds this framework's queues. A pass runs in three
 * phases (which also decide what `scrape.maxQueues` cuts), each over the
 * `discover:` entries in config order:
 * 1. `named`: queues the framework names itself (a registry SET read in one
 *    shared batch for every entry with a {@link registryKey}, or marker keys
 *    found by SCAN, as for BullMQ);
 * 2. `listed`: names given in the entry, or patterns over keys of a known type (Celery);
 * 3. `pattern`: generic SCAN patterns (stream, list) that skip keys another
 *    configured framework owns.
 */
export interface DiscoverSpec<Q extends QueueIdentity, S extends DiscoverEntrySchema> {
  /** The `discover:` entry (framework literal, its own fields, the thresholds). */
  readonly schema: S;
  /** Part of the built-in discovery used when the config has no `discover:` key. */
  readonly byDefault: boolean;
  readonly phase: 'named' | 'listed' | 'pattern';
  /** `collector` label of discovered queues when it is not the framework name (`discovered_stream`). */
  readonly collector?: string;
  /** The registry SET whose SMEMBERS the shared first batch reads for `entry`. */
  registryKey?(entry: z.output<S>): string;
  /** Key prefix this framework owns under `entry`: pattern discovery of other frameworks skips it. */
  ownedPrefix?(entry: z.output<S>): string;
  /** Keys this framework owns whatever the entry (Celery's priority sub-lists): other frameworks' patterns skip them. */
  ownsKey?(key: string): boolean;
  /**
   * Finds the queues of `entry` through `ctx`.
   * @throws DiscoveryError (from `ctx`) when Redis cannot be reached.
   */
  find(entry: z.output<S>, ctx: FindContext<Q>): Promise<void> | void;
}

/** How a queue is declared by hand in `queues:` (list, stream, zset). */
export interface DeclareSpec<S extends DeclareEntrySchema> {
  /** The `queues:` entry (type literal, key, name, thresholds, its own fields). */
  readonly schema: S;
}

/** What a framework's {@link DiscoverSpec.find} may use during one pass. */
export interface FindContext<Q extends QueueIdentity> {
  /** Members of the entry's registry SET, sorted; undefined when it has none or it could not be read. */
  readonly members: readonly string[] | undefined;
  /** `scrape.maxQueues`. */
  readonly maxQueues: number;
  /** SCANs `match` (optionally `TYPE type`), handing each key to `onKey`; `false` from it stops the scan. */
  scan(match: string, type: string | undefined, onKey: (key: string) => boolean | void): Promise<void>;
  /**
   * Sends one batch (TYPE checks…).
   * @param what names the batch in the error
   * @throws DiscoveryError when the batch fails as a whole
   */
  exec(commands: readonly Command[], what: string): Promise<readonly Reply[]>;
  /** True when `key` is the main key of a declared queue (declared queues win). */
  declaredKey(key: string): boolean;
  /** True when `name` is the name of a declared queue. */
  declaredName(name: string): boolean;
  /** True when a framework configured beside this one owns `key`. */
  ownedByOther(key: string): boolean;
  /** Marks `key` as this framework's, so later pattern phases skip it. */
  own(key: string): void;
  /** True when `id` (a queue name or key) was already found by an entry of this framework. */
  seen(id: string): boolean;
  /**
   * Counts one queue against `maxQueues` and marks `id` seen.
   * @returns false when the cap is reached (the pass is then truncated)
   */
  admit(id: string): boolean;
  /** True once the cap is reached or the pass is being stopped. */
  full(): boolean;
  /** Adds a found queue (already admitted). */
  add(queue: Q): void;
  /** Adds a deployment (key prefix) whose {@link QueueLayout.deploymentSteps} run; duplicates are ignored. */
  addDeployment(prefix: string): void;
  /** Records something that could not be read but did not stop the pass. */
  problem(message: string): void;
}

/** A slot for the task inspector (`src/inspect/`): what it needs of a framework is its own business. */
export type TaskInspectorSlot = object;

/** Everything about one framework. */
export interface FrameworkModule<
  Q extends QueueIdentity = QueueIdentity,
  DS extends DiscoverEntrySchema = DiscoverEntrySchema,
  QS extends DeclareEntrySchema = DeclareEntrySchema,
> {
  /** `framework` label value, `discover:` framework name and `queues:` type. */
  readonly name: string;
  readonly layout: QueueLayout<Q>;
  readonly discover?: DiscoverSpec<Q, DS>;
  readonly declare?: DeclareSpec<QS>;
  /** Task inspector hooks (filled in by `src/inspect/`). */
  readonly inspector?: TaskInspectorSlot;
}

/**
 * Declares a framework module (an identity function that keeps the schema
 * types precise, so `DiscoverConfig` is inferred from the registry).
 */
export function defineFramework<Q extends QueueIdentity, DS extends DiscoverEntrySchema = never, QS extends DeclareEntrySchema = never>(
  module: FrameworkModule<Q, DS, QS>,
): FrameworkModule<Q, DS, QS> {
  return module;
}

/**
 * Adds the queues a framework names itself (registry members, marker keys):
 * in order, skipping names already found and queues whose main key is
 * declared, until `maxQueues`.
 * @param own also mark each main key as this framework's (before the checks), so pattern phases skip it
 */
export function addNamed<Q extends QueueIdentity>(ctx: FindContext<Q>, names: Iterable<string>, queueOf: (name: string) => Q, own = false): void {
  for (const name of names) {
    const queue = queueOf(name);
    if (own) ctx.own(queue.key);
    if (ctx.seen(name) || ctx.declaredKey(queue.key)) continue;
    if (!ctx.admit(name)) break;
    ctx.add(queue);
  }
}

/**
 * Pattern discovery (stream, list): SCAN MATCH `match` TYPE `type`, leaving
 * out keys already found, declared queues (by key or name) and keys another
 * configured framework owns; the found keys are added sorted.
 */
export async function findByPattern<Q extends QueueIdentity>(ctx: FindContext<Q>, match: string, type: string, queueOf: (key: string) => Q): Promise<void> {
  const found: string[] = [];
  await ctx.scan(match, type, (key) => {
    if (ctx.seen(key) || ctx.declaredKey(key) || ctx.declaredName(key) || ctx.ownedByOther(key)) return;
    if (!ctx.admit(key)) return;
    found.push(key);
  });
  found.sort();
  for (const key of found) ctx.add(queueOf(key));
}
