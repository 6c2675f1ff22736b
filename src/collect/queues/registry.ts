/**
 * The framework registry: every queue layout queuescope reads, as one list.
 * Config (`discover:` and `queues:` entry schemas), discovery (how queues are
 * found, who owns which keys) and the runtime (which collectors exist) loop
 * over it. Adding a framework is its module, its test and one line here.
 *
 * Order matters and is part of the contract: it is the order of the built-in
 * discovery (no `discover:` key), of discovered collectors on the page, and
 * of the `framework` names a config error lists.
 */
import type { z } from 'zod';
import { asynq } from './asynq.js';
import { bullmq } from './bullmq.js';
import { celery } from './celery.js';
import type { DeclareEntrySchema, DiscoverEntrySchema, FrameworkModule } from './framework.js';
import { list } from './list.js';
import { rq } from './rq.js';
import { sidekiq } from './sidekiq.js';
import { stream } from './stream.js';
import { zset } from './zset.js';

/** Every framework module, in registry order. */
export const FRAMEWORKS = [asynq, bullmq, sidekiq, celery, rq, stream, list, zset] as const;

type AnyFramework = (typeof FRAMEWORKS)[number];
type DiscoverSchemaOf<F> = F extends FrameworkModule<infer _Q, infer DS, infer _QS> ? DS : never;
type DeclareSchemaOf<F> = F extends FrameworkModule<infer _Q, infer _DS, infer QS> ? QS : never;

/** A `discover:` entry of any framework (output of its schema). */
export type DiscoverConfig = z.output<DiscoverSchemaOf<AnyFramework>>;
/** A `queues:` entry of any declarable layout (output of its schema). */
export type DeclaredConfig = z.output<DeclareSchemaOf<AnyFramework>>;
/** A framework that can be discovered (`framework` label of `queuescope_discovered_queues`). */
export type DiscoveredFramework = DiscoverConfig['framework'];

/** The module of `name`, or undefined. */
export function frameworkNamed(name: string): FrameworkModule | undefined {
  return (FRAMEWORKS as readonly FrameworkModule[]).find((f) => f.name === name);
}

/** Discoverable modules in registry order. */
export const DISCOVERABLE: readonly FrameworkModule[] = (FRAMEWORKS as readonly FrameworkModule[]).filter((f) => f.discover);

/**
 * Declarable modules (`queues:` types) sorted by name: the order of declared
 * collectors on the page and of the types a config error lists.
 */
export const DECLARABLE: readonly FrameworkModule[] = (FRAMEWORKS as readonly FrameworkModule[])
  .filter((f) => f.declare)
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The `discover:` entry schemas, for `z.discriminatedUnion('framework', …)`. */
export function discoverSchemas(): readonly [DiscoverSchemaOf<AnyFramework>, ...DiscoverSchemaOf<AnyFramework>[]] {
  return DISCOVERABLE.map((f) => f.discover!.schema as DiscoverEntrySchema) as unknown as [DiscoverSchemaOf<AnyFramework>, ...DiscoverSchemaOf<AnyFramework>[]];
}

/** The `queues:` entry schemas, for `z.discriminatedUnion('type', …)`. */
export function declareSchemas(): readonly [DeclareSchemaOf<AnyFramework>, ...DeclareSchemaOf<AnyFramework>[]] {
  return DECLARABLE.map((f) => f.declare!.schema as DeclareEntrySchema) as unknown as [DeclareSchemaOf<AnyFramework>, ...DeclareSchemaOf<AnyFramework>[]];
}
