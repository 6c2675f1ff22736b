/**
 * The prom-client registry for queuescope's own process and relay metrics
 * (`process_*`, `nodejs_*`, `queuescope_build_info`, config reload state,
 * notification counters). Queue and MySQL samples are not here: the scrape
 * engine renders those itself from each collection.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.js';

/** Self-metrics the server updates directly. */
export interface SelfMetrics {
  readonly registry: Registry;
  readonly configReloadSuccessful: Gauge;
  readonly configReloadSuccessTimestamp: Gauge;
}

/** Creates a dedicated registry with prom-client's default process metrics and the build info gauge. */
export function createSelfMetrics(): SelfMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const build = new Gauge({
    name: 'queuescope_build_info',
    help: 'queuescope version and the Node.js version running it; always 1.',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  });
  build.set({ version: VERSION, nodejs: process.version }, 1);
  const configReloadSuccessful = new Gauge({
    name: 'queuescope_config_last_reload_successful',
    help: 'Whether the last configuration reload attempt succeeded.',
    registers: [registry],
  });
  const configReloadSuccessTimestamp = new Gauge({
    name: 'queuescope_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful configuration load.',
    registers: [registry],
  });
  configReloadSuccessful.set(1);
  configReloadSuccessTimestamp.set(Date.now() / 1000);
  return { registry, configReloadSuccessful, configReloadSuccessTimestamp };
}
