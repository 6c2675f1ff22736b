/**
 * One discovery pass: reads the frameworks' queue registries (one pipelined
 * batch of SMEMBERS) and SCANs for the layouts that keep none, and returns
 * the queues found. Read-only; never KEYS. How each framework is found lives
 * in its module (`collect/queues/<fw>.ts`, `discover.find`); this file runs
 * them in order and keeps the bookkeeping they share.
 *
 * Order (which also decides what `maxQueues` cuts): the phases of
 * {@link DiscoverSpec} (`named`, then `listed`, then `pattern`), each over the
 * `discover:` entries in config order. Pattern phases skip keys that belong
 * to a framework configured beside them (its `ownedPrefix`, `ownsKey`, and
 * keys it marked with `own`), so the default `stream match "*"` does not
 * report BullMQ's `events` streams as queues. A discovered queue whose main
 * key (or, for stream and list, name) is a declared queue's is left out: the
 * declared entry wins.
 */
import type { DiscoverSpec, FindContext, FrameworkModule } from '../collect/queues/framework.js';
import type { QueueIdentity } from '../collect/queues/layout.js';
import { frameworkNamed, type DiscoverConfig } from '../collect/queues/registry.js';
import type { BatchExecutor, RoutedCommand } from '../redis/batch.js';
import type { Command, Reply } from '../redis/command.js';

export { escapeGlob, isGlob } from '../redis/glob.js';

/** What one framework's entries found. */
export interface FoundQueues {
  readonly queues: QueueIdentity[];
  /** deployment key prefixes whose deployment-wide reads run (Sidekiq's global states) */
  readonly deployments: string[];
}

/** What a pass found, per framework name (frameworks without an entry are absent). */
export type DiscoveredQueues = ReadonlyMap<string, FoundQueues>;

/** Number of queues per framework (deployments not counted). */
export function countQueues(q: DiscoveredQueues): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, found] of q) out[name] = found.queues.length;
  return out;
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

const PHASES = ['named', 'listed', 'pattern'] as const;

/** An entry with its framework's discovery. */
interface Entry {
  readonly config: DiscoverConfig;
  readonly module: FrameworkModule;
  readonly spec: DiscoverSpec<QueueIdentity, never>;
}

/**
 * Runs one discovery pass.
 * @throws DiscoveryError when Redis cannot be reached (a batch failed as a whole or a SCAN was rejected).
 */
export async function discoverQueues(configs: readonly DiscoverConfig[], executor: BatchExecutor, opts: PassOptions): Promise<PassResult> {
  const entries: Entry[] = configs.map((config) => {
    const module = frameworkNamed(config.framework);
    if (!module?.discover) throw new DiscoveryError(`framework ${config.framework} cannot be discovered`);
    return { config, module, spec: module.discover as unknown as DiscoverSpec<QueueIdentity, never> };
  });
  const out = new Map<string, { queues: QueueIdentity[]; deployments: string[] }>();
  for (const e of entries) if (!out.has(e.module.name)) out.set(e.module.name, { queues: [], deployments: [] });
  const problems: string[] = [];
  const declaredKeys = new Set(opts.declared.map((d) => d.key));
  const declaredNames = new Set(opts.declared.map((d) => d.name));
  let total = 0;
  let truncated = false;
  const full = (): boolean => truncated || opts.stopped?.() === true;
  const seen = new Map<string, Set<string>>();
  const ownedKeys = new Set<string>();
  const prefixes: { framework: string; prefix: string }[] = [];
  for (const e of entries) {
    const prefix = e.spec.ownedPrefix?.(e.config as never);
    if (prefix !== undefined) prefixes.push({ framework: e.module.name, prefix });
  }
  const ownsKey = entries.filter((e) => e.spec.ownsKey);

  const exec = async (commands: readonly Command[], what: string): Promise<readonly Reply[]> => {
    const routed: RoutedCommand[] = commands.map((command) => ({ command, routingKey: String(command[1]) }));
    const res = await executor.exec(routed, opts.batchDeadlineMs());
    if (!res.ok) throw new DiscoveryError(`couldn't ${what}: ${res.error ?? 'redis batch failed'}`);
    return res.replies;
  };

  // 1. Registries, one batch.
  const registryEntries = entries.filter((e) => e.spec.registryKey);
  const registryKey = (e: Entry): string => e.spec.registryKey!(e.config as never);
  const members = new Map<Entry, string[]>();
  if (registryEntries.length > 0) {
    const replies = await exec(registryEntries.map((e): Command => ['SMEMBERS', registryKey(e)]), 'read the queue registries');
    registryEntries.forEach((e, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err || !Array.isArray(value)) {
        const why = err ? (err.message.startsWith('WRONGTYPE') ? 'key holds the wrong type' : err.message) : 'expected an array reply';
        problems.push(`couldn't read SMEMBERS ${registryKey(e)} (${e.config.framework} queue registry): ${why}`);
        return;
      }
      members.set(e, value.map((v) => String(v)).sort());
    });
  }

  // 2. Each phase over the entries in config order.
  for (const phase of PHASES) {
    for (const e of entries) {
      if (e.spec.phase !== phase) continue;
      if (full()) break;
      const name = e.module.name;
      const found = out.get(name)!;
      let seenHere = seen.get(name);
      if (!seenHere) seen.set(name, (seenHere = new Set()));
      const frameworkSeen = seenHere;
      const ctx: FindContext<QueueIdentity> = {
        members: members.get(e),
        maxQueues: opts.maxQueues,
        async scan(match, type, onKey) {
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
        },
        exec,
        declaredKey: (key) => declaredKeys.has(key),
        declaredName: (n) => declaredNames.has(n),
        ownedByOther(key) {
          if (ownedKeys.has(key)) return true;
          for (const p of prefixes) if (p.framework !== name && key.startsWith(p.prefix)) return true;
          for (const o of ownsKey) if (o.module.name !== name && o.spec.ownsKey!(key)) return true;
          return false;
        },
        own: (key) => void ownedKeys.add(key),
        seen: (id) => frameworkSeen.has(id),
        admit(id) {
          if (total >= opts.maxQueues) {
            truncated = true;
            return false;
          }
          total++;
          frameworkSeen.add(id);
          return true;
        },
        full,
        add: (queue) => void found.queues.push(queue),
        addDeployment(prefix) {
          if (!found.deployments.includes(prefix)) found.deployments.push(prefix);
        },
        problem: (message) => void problems.push(message),
      };
      await e.spec.find(e.config as never, ctx);
    }
  }

  return { queues: out, truncated, problems };
}
