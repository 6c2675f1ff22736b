/**
 * Runs the sidecar: loads the config, builds the app, listens, reloads on
 * SIGHUP, and shuts down gracefully on SIGINT/SIGTERM (close-with-grace: the
 * relay flushes or hands back what it holds, connections close, then exit 0).
 */
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { resolveConfig, type ResolveOptions } from './config/load.js';
import { parseHostPort } from './host-port.js';
import { WebGuard } from './http/web-guard.js';
import { createLogger } from './log.js';

/** How long shutdown may take before the process exits anyway, ms. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts the sidecar and resolves once it listens.
 * @throws ConfigError (exit 2) for an invalid config; other errors (listen failed) exit 1.
 */
export async function runServer(opts: Omit<ResolveOptions, 'env' | 'cwd'>, serve: { webConfigFile?: string } = {}): Promise<void> {
  // SIGHUP's default action ends the process: take it over before anything
  // slow, and remember one that arrives before the app exists.
  let reload: (() => void) | undefined;
  let hupBeforeStart = false;
  process.on('SIGHUP', () => {
    if (reload) reload();
    else hupBeforeStart = true;
  });
  const env = process.env;
  const cwd = process.cwd();
  const { config, source } = await resolveConfig({ ...opts, env, cwd });
  const log = createLogger(config.logLevel);
  const web = serve.webConfigFile ? new WebGuard(serve.webConfigFile, log.child({ module: 'web' })) : undefined;
  if (web) {
    log.info({ webConfig: web.config.path, tls: Boolean(web.config.tls) }, 'web config loaded');
    // SIGHUP re-reads the web config file too (it is also re-read whenever it or its certificates change)
    process.on('SIGHUP', () => web.refresh(true));
  }
  const app = await buildApp(config, {
    log,
    ...(web ? { web } : {}),
    // Reload re-reads the same source with the same overrides.
    loadConfig: async () => (await resolveConfig({ ...opts, env, cwd })).config,
  });

  const [host, port] = splitHostPort(config.listen);
  await app.listen({ host, port });
  log.info({ listen: config.listen, config: source }, 'queuescope started');

  reload = () => {
    void app.queuescope.reload();
  };
  if (hupBeforeStart) reload();
  // close-with-grace treats SIGHUP as a shutdown signal by default; here it means reload.
  // Its own messages (a shutdown past the grace time, a second signal) go to our log, so an
  // exit code 1 always says why in the same place as everything else.
  closeWithGrace(
    {
      delay: SHUTDOWN_GRACE_MS,
      skip: ['SIGHUP'],
      logger: { error: (msg: unknown) => log.error({ reason: msg instanceof Error ? msg.stack : String(msg) }, 'shutdown did not complete cleanly') },
      // What still holds the process (sockets, timers…), so a slow shutdown says what it waited for.
      onTimeout: (delay: number) =>
        log.error({ graceMs: delay, waitingFor: process.getActiveResourcesInfo() }, 'shutdown took longer than the grace time; exiting with code 1'),
    },
    async ({ signal, err }) => {
      const started = Date.now();
      if (err) log.error({ err }, 'shutting down after an unexpected error');
      else log.info({ signal }, 'shutting down');
      await app.close();
      log.info({ tookMs: Date.now() - started }, 'shut down');
    },
  );
}

/** Splits `host:port` (IPv6 in brackets) for `listen()`. */
export function splitHostPort(listen: string): [string, number] {
  const { host, port } = parseHostPort(listen);
  return [host, port];
}
