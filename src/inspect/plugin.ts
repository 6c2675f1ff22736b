/**
 * The task inspector's routes (issue 15):
 *
 * - `GET /queues/:queue?framework=&state=&limit=` — the HTML view;
 * - `GET /api/queues/:queue/tasks?framework=&state=&limit=` — {@link QueueTasks};
 * - `GET /api/queues/:queue/tasks/:id?framework=` — {@link TaskLookup}.
 *
 * `queue` is a queue the sidecar knows (declared, or found by the last
 * discovery pass); anything else is 404 without touching Redis, so no key
 * is ever taken from the request. `framework` is needed only when two
 * frameworks share a name (409 lists them). `state` is one of the list
 * states (default: every state the framework keeps), `limit` 1..100
 * (default 20; larger values are capped). Auth is the app's (every route but
 * the probes). Reads go through the runtime's executor, one pipeline (plus a
 * dependent one) per view, bounded by `scrape.timeout`; never on `/metrics`.
 *
 * Chat messages (`notify.externalURL`) and Grafana data links point at
 * `<externalURL>/queues/<urlencoded queue>?framework=<urlencoded framework>`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../config/schema.js';
import type { BatchExecutor } from '../redis/batch.js';
import { pickLanguage } from '../monitor/i18n.js';
import { sendHtmlPage } from '../http/html-reply.js';
import { pluginRuntime } from '../http/plugin-runtime.js';
import { resolveQueue, type CatalogRuntime, type KnownQueue } from './index.js';
import { renderInspectPage, renderMessagePage } from './page.js';
import { errorSchema, jsonSchema, queueTasksSchema, taskLookupSchema } from './schema.js';
import { clean } from './text.js';
import { DEFAULT_LIMIT, MAX_LIMIT, TASK_STATES, type InspectRequest, type ListState } from './types.js';
import { listTasks, lookupTask } from './view.js';

/** What the inspector needs of a runtime (`Runtime` satisfies it). */
export interface InspectRuntime extends CatalogRuntime {
  readonly config: Config;
  readonly executor: BatchExecutor;
  readonly discovery: CatalogRuntime['discovery'] & {
    /** Resolves once the first discovery pass is done or half the time to `deadlineMs` passed. */
    ready?(deadlineMs: number): Promise<void>;
  };
}

/** Options of {@link inspectPlugin}. */
export interface InspectPluginOptions {
  /** The current runtime; default `app.queuescope.runtime` (follows reloads). */
  readonly runtime?: () => InspectRuntime;
}

interface Query {
  framework?: string;
  state?: string;
  limit?: string;
  lang?: string;
}

const querySchema = {
  type: 'object',
  properties: { framework: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' }, lang: { type: 'string' } },
} as const;

/** Parses `limit`: default 20, capped at 100; undefined for a non-number or < 1. */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return DEFAULT_LIMIT;
  if (!/^\d{1,6}$/.test(text)) return undefined;
  const n = Number(text);
  return n < 1 ? undefined : Math.min(n, MAX_LIMIT);
}

/** Parses `state`: one state, or a comma list; undefined (all) when empty; null when a name is unknown. */
export function parseStates(text: string | undefined): ListState[] | undefined | null {
  if (text === undefined || text.trim() === '') return undefined;
  const out: ListState[] = [];
  for (const s of text.split(',')) {
    const v = s.trim();
    if (!(TASK_STATES as readonly string[]).includes(v)) return null;
    out.push(v as ListState);
  }
  return out;
}

/** The query string the page's API calls carry. */
function apiQuery(q: KnownQueue, limit: number, states: ListState[] | undefined): string {
  const p = new URLSearchParams({ framework: q.framework });
  if (limit !== DEFAULT_LIMIT) p.set('limit', String(limit));
  if (states) p.set('state', states.join(','));
  return `?${p.toString()}`;
}

export const inspectPlugin: FastifyPluginAsync<InspectPluginOptions> = async (app, opts) => {
  const runtimeOf: () => InspectRuntime = pluginRuntime(app, 'inspectPlugin', opts.runtime);

  type Prepared =
    | { ok: true; runtime: InspectRuntime; queue: KnownQueue; req: InspectRequest; deadline: number; limit: number; states: ListState[] | undefined }
    | { ok: false; code: number; error: string; frameworks?: string[] };

  const prepare = async (name: string, query: Query): Promise<Prepared> => {
    const runtime = runtimeOf();
    const limit = parseLimit(query.limit);
    if (limit === undefined) return { ok: false, code: 400, error: `limit must be an integer from 1 to ${MAX_LIMIT}` };
    const states = parseStates(query.state);
    if (states === null) return { ok: false, code: 400, error: `state must be one of ${TASK_STATES.join(', ')}` };
    const deadline = Date.now() + runtime.config.scrape.timeout;
    // Right after start the first discovery pass may still run: wait for it a little (bounded).
    await runtime.discovery.ready?.(deadline);
    const found = resolveQueue(runtime, name, query.framework);
    if (found.kind === 'unknown') return { ok: false, code: 404, error: `unknown queue "${clean(name)}"${query.framework ? ` (framework ${clean(query.framework)})` : ''}` };
    if (found.kind === 'ambiguous') return { ok: false, code: 409, error: `several frameworks have a queue "${clean(name)}": add ?framework=`, frameworks: found.frameworks };
    const kept = new Set<ListState>(states ?? found.queue.inspector.states);
    const req: InspectRequest = { states: kept, limit, nowMs: Date.now(), payloads: runtime.config.ui.payloads !== 'hide' };
    return { ok: true, runtime, queue: found.queue, req, deadline, limit, states };
  };

  const fail = (reply: FastifyReply, p: Extract<Prepared, { ok: false }>) =>
    reply.code(p.code).send(errorSchema.parse({ error: p.error, ...(p.frameworks ? { frameworks: p.frameworks } : {}) }));

  const errorJson = jsonSchema(errorSchema);
  const apiSchema = (ok: Record<string, unknown>) => ({ querystring: querySchema, response: { 200: ok, 400: errorJson, 404: errorJson, 409: errorJson } });

  app.get<{ Params: { queue: string }; Querystring: Query }>('/api/queues/:queue/tasks', { schema: apiSchema(jsonSchema(queueTasksSchema)) }, async (req, reply) => {
    const p = await prepare(req.params.queue, req.query);
    if (!p.ok) return fail(reply, p);
    const body = queueTasksSchema.parse(await listTasks(p.runtime.executor, p.queue, p.req, p.deadline));
    return reply.header('cache-control', 'no-store').send(body);
  });

  app.get<{ Params: { queue: string; id: string }; Querystring: Query }>('/api/queues/:queue/tasks/:id', { schema: apiSchema(jsonSchema(taskLookupSchema)) }, async (req, reply) => {
    const p = await prepare(req.params.queue, { ...req.query, state: undefined });
    if (!p.ok) return fail(reply, p);
    const id = req.params.id;
    if (id.length > 512) return reply.code(400).send({ error: 'task id longer than 512 characters' });
    const body = taskLookupSchema.parse(await lookupTask(p.runtime.executor, p.queue, id, p.req, p.deadline));
    return reply.code(body.tasks.length === 0 && body.redisUp ? 404 : 200).header('cache-control', 'no-store').send(
      body.tasks.length === 0 && body.redisUp ? { error: `task "${clean(id)}" not found in queue "${clean(p.queue.name)}"` } : body,
    );
  });

  app.get<{ Params: { queue: string }; Querystring: Query }>('/queues/:queue', { schema: { querystring: querySchema } }, async (req, reply) => {
    const lang = pickLanguage(req.headers['accept-language'], req.query.lang);
    const nonce = randomBytes(16).toString('base64');
    const send = (code: number, html: string) => sendHtmlPage(reply, code, nonce, html);
    const p = await prepare(req.params.queue, req.query);
    if (!p.ok) {
      if (p.code === 400) return reply.code(400).type('text/plain; charset=utf-8').send(`${p.error}\n`);
      return send(p.code, renderMessagePage(lang, nonce, clean(req.params.queue), p.frameworks ?? []));
    }
    const data = queueTasksSchema.parse(await listTasks(p.runtime.executor, p.queue, p.req, p.deadline));
    const selfQuery = new URLSearchParams(Object.entries(req.query).filter(([k, v]) => k !== 'lang' && typeof v === 'string') as [string, string][]).toString();
    const html = renderInspectPage({
      lang,
      nonce,
      data,
      state: p.states?.[0],
      api: `../api/queues/${encodeURIComponent(p.queue.name)}/tasks`,
      query: apiQuery(p.queue, p.limit, p.states),
      selfQuery: selfQuery === '' ? '' : `?${selfQuery}`,
    });
    return send(200, html);
  });
};
