/**
 * `GET /probe?target=redis://host:port/db&module=NAME`: scrapes another Redis
 * with the queues, discovery and components of `modules.NAME`, so one
 * sidecar serves many Redis deployments through Prometheus relabelling (the
 * blackbox_exporter pattern). The answer is the same exposition `/metrics`
 * gives for its own Redis (`redis_up`, queue families, collector success),
 * without the sidecar's own process metrics.
 *
 * Credentials come only from the module's `redis` block: a target carrying
 * `user:password@` (or a query string) is a 400. `probe.allowTargets`
 * (host:port globs) restricts targets (403 otherwise). Connections are pooled
 * per (module, target) and closed after `idleMs` without probes.
 *
 * Answers: 200 exposition (a target that does not answer is `redis_up 0`,
 * still 200, within the scrape timeout); 400 bad or missing `target` /
 * `module`; 403 target not allowed; 503 too many targets open at once.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { scrapeBudgetMs, scrapeResponse } from '../collect/response.js';
import type { Config } from '../config/schema.js';
import { ProbePool } from './pool.js';
import { parseTarget, ProbeRequestError, targetAllowed } from './target.js';

/** Options of {@link probePlugin}. */
export interface ProbePluginOptions {
  /** The config at registration; `app.queuescope.runtime.config` wins when present (follows reloads). */
  readonly config: Config;
  /** Close a target's connection after this long without probes, ms. Default 300000 (5 min). */
  readonly idleMs?: number;
  /** Most targets kept open at once. Default 256. */
  readonly maxTargets?: number;
  /** Logger for probe runtimes; default the app's (pino, as `buildApp` sets it up). */
  readonly log?: Logger;
}

/** Default idle time before a probe target's connection is closed, ms. */
export const PROBE_IDLE_MS = 5 * 60_000;
/** Default bound on open probe targets. */
export const PROBE_MAX_TARGETS = 256;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ProbeRequestError(400, `give ${name} once`);
  return value;
}

export const probePlugin: FastifyPluginAsync<ProbePluginOptions> = async (app, opts) => {
  const currentConfig = (): Config => (app.hasDecorator('queuescope') ? app.queuescope.runtime.config : opts.config);
  const pool = new ProbePool({ idleMs: opts.idleMs ?? PROBE_IDLE_MS, maxTargets: opts.maxTargets ?? PROBE_MAX_TARGETS, log: opts.log ?? (app.log as unknown as Logger) });

  app.get<{ Querystring: Record<string, unknown> }>('/probe', async (req, reply) => {
    const config = currentConfig();
    try {
      const rawTarget = single(req.query.target, 'target');
      const moduleName = single(req.query.module, 'module');
      if (rawTarget === undefined) throw new ProbeRequestError(400, 'target parameter is missing (e.g. /probe?target=redis://host:6379/0&module=NAME)');
      if (moduleName === undefined || moduleName === '') {
        const names = Object.keys(config.modules);
        throw new ProbeRequestError(400, `module parameter is missing${names.length ? ` (configured: ${names.join(', ')})` : ' (no modules are configured)'}`);
      }
      const mod = Object.hasOwn(config.modules, moduleName) ? config.modules[moduleName] : undefined;
      if (!mod) throw new ProbeRequestError(400, `unknown module "${moduleName}"`);
      const target = parseTarget(rawTarget);
      if (!targetAllowed(target, config.probe.allowTargets)) throw new ProbeRequestError(403, `target ${target.hostPort} is not in probe.allowTargets`);

      const budget = scrapeBudgetMs(config.scrape.timeout, req.headers['x-prometheus-scrape-timeout-seconds']);
      const deadline = Date.now() + budget;
      const collection = await pool.use(config, moduleName, mod, target, (runtime) => runtime.engine.collect(deadline));
      const page = scrapeResponse(collection, req.headers.accept);
      return reply.type(page.contentType).send(page.body);
    } catch (err) {
      if (err instanceof ProbeRequestError) return reply.code(err.statusCode).type('text/plain; charset=utf-8').send(`${err.message}\n`);
      throw err;
    }
  });

  app.addHook('onClose', async () => {
    await pool.close();
  });
};
