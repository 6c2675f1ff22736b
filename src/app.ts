/**
 * `buildApp(config)`: the Fastify instance with every route, never listening
 * (tests use `app.inject()`; only `server.ts` calls `listen()`).
 *
 * Routes: `GET /metrics`, `GET /-/healthy`, `GET /-/ready`, `POST /-/reload`,
 * `GET /` and the plugins' routes (relay, monitor API).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import compress from '@fastify/compress';
import { scrapeBudgetMs, scrapeResponse } from './collect/response.js';
import { registerAuth } from './http/auth.js';
import type { WebGuard } from './http/web-guard.js';
import { createLogger } from './log.js';
import { familiesFromRegistry } from './metrics/from-prom-client.js';
import { createSelfMetrics, type SelfMetrics } from './metrics/registry.js';
import { inspectPlugin } from './inspect/plugin.js';
import { monitorPlugin } from './monitor/plugin.js';
import { probePlugin } from './probe/plugin.js';
import { Relay, relayPlugin } from './relay/plugin.js';
import { Runtime } from './runtime.js';

export interface AppOptions {
  /** Logger to use; default: pino at `config.logLevel`. */
  readonly log?: Logger;
  /**
   * Loads the config anew for `POST /-/reload` and SIGHUP; throws ConfigError
   * when invalid. Without it, reload answers 501.
   */
  readonly loadConfig?: () => Promise<Config>;
  /** Self metrics registry (shared across reloads); default: a new one. */
  readonly self?: SelfMetrics;
  /** `--web.config.file`: TLS, basic_auth_users, headers (exporter-toolkit format); default plain HTTP with `auth` only. */
  readonly web?: WebGuard;
}

/** What `buildApp` adds to the Fastify instance. */
export interface QueuescopeApp {
  /** The runtime of the current config (swapped by reload). */
  readonly runtime: Runtime;
  /** Reloads the config; resolves false (keeping the old one) when it is invalid. */
  reload(): Promise<{ ok: boolean; error?: string }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    queuescope: QueuescopeApp;
  }
}

/** How long a shutdown lets open connections finish before cutting them, ms (the grace is 10 s). */
export const CLOSE_CONNECTIONS_AFTER_MS = 4000;

/**
 * Builds the app for `config`: opens (lazily) the Redis and MySQL connections
 * and starts discovery; `app.close()` closes them.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const log = options.log ?? createLogger(config.logLevel);
  const self = options.self ?? createSelfMetrics();
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance type the default one plugins expect.
    loggerInstance: log as FastifyBaseLogger,
    // Prometheus scrapes every few seconds; per-request log lines would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    // Alertmanager payloads with many alerts are large, but 10 MB is abuse.
    bodyLimit: 4 * 1024 * 1024,
    ...options.web?.fastifyOptions(),
  });

  // Node keeps a keep-alive connection open after close() when a request was in flight on it
  // (only idle ones are closed, and Fastify says Connection: close only to requests that start
  // after it), so close() waited for the client or Fastify's 72 s keepAliveTimeout: a SIGTERM
  // during a scrape or an Alertmanager webhook ran past the 10 s grace and exited 1. A response
  // sent while closing says Connection: close, so its connection ends with it. Added before the
  // plugins register: their routes inherit it.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // What is still open after CLOSE_CONNECTIONS_AFTER_MS (a request stuck in its headers or
    // body, a client that never reads) is cut, so the hooks after it (the runtime, the relay's
    // store) still run within the 10 s grace: an unanswered webhook is retried by Alertmanager.
    const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_CONNECTIONS_AFTER_MS);
    force.unref();
    app.server.once('close', () => clearTimeout(force));
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  // A response whose headers went out just before the close began: once it has finished, its
  // connection is idle, and idle connections are closed (Node closes them once, at close()).
  app.addHook('onResponse', async () => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });

  // The relay outlives reloads (queued notifications must not be lost); reload reconfigures its targets.
  const relay = new Relay({ notify: config.notify, registry: self.registry, log: log.child({ module: 'relay' }) });
  let runtime = new Runtime(config, log);
  runtime.start();
  let reloading: Promise<{ ok: boolean; error?: string }> | undefined;

  const doReload = async (): Promise<{ ok: boolean; error?: string }> => {
    if (!options.loadConfig) return { ok: false, error: 'reload is not available: the sidecar was started without a config source' };
    let next: Config;
    try {
      next = await options.loadConfig();
    } catch (err) {
      self.configReloadSuccessful.set(0);
      log.error({ err: (err as Error).message }, 'config reload refused; the previous config keeps running');
      return { ok: false, error: (err as Error).message };
    }
    let fresh: Runtime;
    try {
      fresh = new Runtime(next, log);
    } catch (err) {
      // The loader refuses what start-up would; this is the backstop, never a 500 with the gauge left at 1.
      self.configReloadSuccessful.set(0);
      log.error({ err: (err as Error).message }, 'config reload refused: the new config cannot start; the previous config keeps running');
      return { ok: false, error: `the new config cannot start: ${(err as Error).message}` };
    }
    const old = runtime;
    runtime = fresh;
    relay.reconfigure(next.notify);
    runtime.start();
    log.level = next.logLevel;
    await old.close();
    self.configReloadSuccessful.set(1);
    self.configReloadSuccessTimestamp.set(Date.now() / 1000);
    log.info('config reloaded');
    return { ok: true };
  };

  app.decorate('queuescope', {
    get runtime() {
      return runtime;
    },
    reload() {
      // Reloads arriving together (SIGHUP and POST) share one.
      reloading ??= doReload().finally(() => (reloading = undefined));
      return reloading;
    },
  } satisfies QueuescopeApp);

  if (options.web) options.web.attach(app, config.auth);
  else registerAuth(app, config.auth);

  // gzip/deflate for every route that answers more than 1 KiB (the monitor API, the status page);
  // /metrics compresses its shared part once per collection itself (src/http/gzip.ts). Request
  // bodies are never inflated: the only ones are Alertmanager's, and a zip bomb is not one.
  await app.register(compress, { global: true, threshold: 1024, encodings: ['gzip', 'deflate'], globalDecompression: false });

  app.get('/metrics', { compress: false }, async (req, reply) => {
    const budget = scrapeBudgetMs(runtime.config.scrape.timeout, req.headers['x-prometheus-scrape-timeout-seconds']);
    // The process's own metrics (~1.5 ms of prom-client's default collectors at the reference
    // workload) are read on the next turn of the event loop, once the collection has sent its
    // first batch and waits for Redis' first replies, rather than after the collection.
    const [collection, own] = await Promise.all([
      runtime.engine.collect(Date.now() + budget),
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => familiesFromRegistry(self.registry)),
    ]);
    // Rendered at once: the engine reuses a collection's buffers two collections later.
    const page = scrapeResponse(collection, req.headers.accept, own, req.headers['accept-encoding']);
    reply.type(page.contentType).header('vary', 'Accept-Encoding');
    if (page.contentEncoding) reply.header('content-encoding', page.contentEncoding);
    return reply.send(page.body);
  });

  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain').send('queuescope is healthy\n'));
  app.get('/-/ready', async (_req, reply) => reply.type('text/plain').send('queuescope is ready\n'));
  app.post('/-/reload', async (_req, reply) => {
    if (!options.loadConfig) return reply.code(501).send({ status: 'error', error: 'reload needs a config file' });
    const result = await app.queuescope.reload();
    return result.ok ? reply.send({ status: 'success' }) : reply.code(400).send({ status: 'error', error: result.error });
  });

  await app.register(relayPlugin, { notify: config.notify, registry: self.registry, relay });
  await app.register(monitorPlugin, { config });
  await app.register(probePlugin, { config });
  await app.register(inspectPlugin, {});

  app.addHook('onClose', async () => {
    await runtime.close();
  });
  return app;
}
