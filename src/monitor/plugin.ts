/**
 * The monitor API and status page (shared/spec/monitor-api.md):
 *
 * - `GET /api/monitor[?limit=&offset=]` — components, one page of queues
 *   (default 500, at most 5000; `page.total` counts them all), MySQL and
 *   Redis in one JSON document ({@link MonitorSnapshot}); built from the
 *   collection's index, so its cost follows the page, not the queue count;
 * - `GET /api/monitor/:component` — one component ({@link ComponentView}),
 *   404 for a name not in `components:`;
 * - `GET /` — the self-contained status page.
 *
 * Data comes from the scrape engine's collection (the same pipeline and
 * samples as `/metrics`, sharing a collection in flight); rates come from the
 * sidecar's own samples of the counters, one per collection seen (the monitor's
 * own and the latest `/metrics` one), over `ui.rateWindow`. The runtime is read
 * per request, so a config reload is followed; rate samples start afresh with
 * a new runtime.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Collection } from '../collect/collection.js';
import type { Config } from '../config/schema.js';
import { pickLanguage } from './i18n.js';
import { sendHtmlPage } from '../http/html-reply.js';
import { pluginRuntime } from '../http/plugin-runtime.js';
import { renderStatusPage } from './page.js';
import { RateTracker } from './rates.js';
import { componentViewSchema, jsonSchemaOf, monitorErrorSchema, monitorSnapshotSchema } from './schema.js';
import { buildSnapshot, DEFAULT_QUEUE_PAGE, MAX_QUEUE_PAGE, observeCollection, type MonitorSnapshot, type QueuePage } from './snapshot.js';

/** What the monitor needs of a runtime (`Runtime` satisfies it). */
export interface MonitorRuntime {
  readonly config: Config;
  readonly engine: {
    /** See `ScrapeEngine.collect`: `deadlineMs` is absolute unix ms. */
    collect(deadlineMs: number): Promise<Collection>;
    /** The last finished collection. */
    readonly latest: Collection | undefined;
  };
}

/** Options of {@link monitorPlugin}. */
export interface MonitorPluginOptions {
  /** The config at registration (unused when the runtime is available; kept for `buildApp`'s call). */
  readonly config?: Config;
  /** The current runtime; default `app.queuescope.runtime` (follows reloads). */
  readonly runtime?: () => MonitorRuntime;
  /**
   * A finished collection younger than this is answered from instead of
   * starting another, ms (many open pages polling every few seconds cost at
   * most one collection per interval). Default 1000; 0 always collects.
   */
  readonly reuseForMs?: number;
  /** How often the status page polls the API, ms. Default 3000. */
  readonly refreshMs?: number;
}

/** JSON Schema of `GET /api/monitor` (serialises the answer; documents the shape), generated from `monitorSnapshotSchema`. */
export const monitorResponseSchema = jsonSchemaOf(monitorSnapshotSchema);
const componentSchema = jsonSchemaOf(componentViewSchema);
const errorSchema = jsonSchemaOf(monitorErrorSchema);

/**
 * `?limit=&offset=` of `GET /api/monitor`: a page of queues (issue 10: 100,000
 * queues must not make one answer huge). Out-of-range values are a 400.
 */
export const pageQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 0, maximum: MAX_QUEUE_PAGE },
    offset: { type: 'integer', minimum: 0 },
  },
} as const;

/** Registers the monitor routes; see the module comment. */
export const monitorPlugin: FastifyPluginAsync<MonitorPluginOptions> = async (app, opts) => {
  const runtimeOf: () => MonitorRuntime = pluginRuntime(app, 'monitorPlugin', opts.runtime);
  const reuseForMs = opts.reuseForMs ?? 1000;
  const refreshMs = opts.refreshMs ?? 3000;
  // One tracker per runtime: a reload (new components, new window) starts the samples afresh.
  const trackers = new WeakMap<MonitorRuntime, RateTracker>();

  const snapshot = async (runtime: MonitorRuntime, page: QueuePage): Promise<MonitorSnapshot> => {
    let tracker = trackers.get(runtime);
    if (!tracker) {
      tracker = new RateTracker(runtime.config.ui.rateWindow);
      trackers.set(runtime, tracker);
    }
    const before = runtime.engine.latest;
    // A /metrics scrape since our last look is one more sample for the rates.
    if (before) observeCollection(tracker, before);
    // A collection that found Redis down is never reused: retrying is cheap (no offline queue) and recovery shows at once.
    const reusable = before !== undefined && reuseForMs > 0 && Date.now() - before.at < reuseForMs && before.value('redis_up') === 1;
    const collection = reusable ? before : await runtime.engine.collect(Date.now() + runtime.config.scrape.timeout);
    observeCollection(tracker, collection);
    return buildSnapshot(collection, runtime.config, tracker, page);
  };

  app.get<{ Querystring: { limit?: number; offset?: number } }>(
    '/api/monitor',
    { schema: { querystring: pageQuerySchema, response: { 200: monitorResponseSchema } } },
    async (req, reply) => {
      const body = await snapshot(runtimeOf(), { limit: req.query.limit ?? DEFAULT_QUEUE_PAGE, offset: req.query.offset ?? 0 });
      return reply.header('cache-control', 'no-store').send(body);
    },
  );

  app.get<{ Params: { component: string } }>(
    '/api/monitor/:component',
    {
      schema: {
        params: { type: 'object', properties: { component: { type: 'string' } }, required: ['component'] },
        response: { 200: componentSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const runtime = runtimeOf();
      const name = req.params.component;
      // Unknown names are answered without touching Redis.
      if (!runtime.config.components.some((c) => c.name === name)) {
        return reply.code(404).send({ error: `unknown component "${name}"` });
      }
      const body = await snapshot(runtime, { limit: 0 });
      return reply.header('cache-control', 'no-store').send(body.components[name]);
    },
  );

  app.get<{ Querystring: { lang?: string } }>('/', async (req, reply) => {
    const runtime = runtimeOf();
    const nonce = randomBytes(16).toString('base64');
    const html = renderStatusPage({
      lang: pickLanguage(req.headers['accept-language'], req.query.lang),
      grafanaUrl: runtime.config.ui.grafanaUrl,
      refreshMs,
      nonce,
    });
    return sendHtmlPage(reply, 200, nonce, html);
  });
};
