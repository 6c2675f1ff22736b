/**
 * Runs the sidecar: loads the config, builds the app, listens, reloads on
 * SIGHUP, and shuts down gracefully on SIGINT/SIGTERM (close-with-grace: the
 * relay flushes or hands back what it holds, connections close, then exit 0).
 */
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { resolveConfig, type ResolveOptions } from './config/load.js';
import { parseHostPort } from './host-port.js';
import { createLogger } from './log.js';

/** How long shutdown may take before the process exits anyway, ms. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts the sidecar and resolves once it listens.
 * @throws ConfigError (exit 2) for an invalid config; other errors (listen failed) exit 1.
 */
export async function runServer(opts: Omit<ResolveOptions, 'env' | 'cwd'>): Promise<void> {
  const env = process.env;
  const cwd = process.cwd();
  const { config, source } = await resolveConfig({ ...opts, env, cwd });
  const log = createLogger(config.logLevel);
  const app = await buildApp(config, {
    log,
    // Reload re-reads the same source with the same overrides.
    loadConfig: async () => (await resolveConfig({ ...opts, env, cwd })).config,
  });

  const [host, port] = splitHostPort(config.listen);
  await app.listen({ host, port });
  log.info({ listen: config.listen, config: source }, 'queuescope started');

  process.on('SIGHUP', () => {
    void app.queuescope.reload();
  });
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an unexpected error');
    else log.info({ signal }, 'shutting down');
    await app.close();
  });
}

/** Splits `host:port` (IPv6 in brackets) for `listen()`. */
export function splitHostPort(listen: string): [string, number] {
  const { host, port } = parseHostPort(listen);
  return [host, port];
}
