/**
 * The parameters of `queuescope generate` (the mixin convention of
 * redis-mixin / mysqld-mixin / kube-prometheus: one typed source, a few
 * parameters, generated files). {@link DEFAULT_PARAMS} renders exactly the
 * files shipped in `prometheus/`, `alertmanager/` and `grafana/dashboards/`.
 */

/** Language of the annotations (and so of the chat messages built from them). */
export type Lang = 'zh' | 'en';

export type Severity = 'critical' | 'warning';

/** Alert thresholds with a default in the rules (per-queue thresholds come from the sidecar's gauges instead). */
export interface Thresholds {
  /** QueueFailureRateHigh: failed / processed over 5m (ratio 0..1). */
  failureRatio: number;
  /** QueueFailureRateHigh: at least this many tasks finished in 5m. */
  failureMinTasks: number;
  /** StreamConsumerGroupStalled: every consumer idle beyond this, seconds. */
  streamIdleSeconds: number;
  /** MySQLConnectionsNearLimit: threads_connected / max_connections (ratio). */
  mysqlConnectionsRatio: number;
  /** MySQLSlowQueries: slow queries per second over 5m. */
  slowQueriesPerSecond: number;
  /** QueuescopeNotificationsUndelivered: oldest undelivered notification age, seconds. */
  undeliveredSeconds: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = {
  failureRatio: 0.05,
  failureMinTasks: 20,
  streamIdleSeconds: 300,
  mysqlConnectionsRatio: 0.8,
  slowQueriesPerSecond: 0.1,
  undeliveredSeconds: 600,
};

/** Everything generation depends on. */
export interface GenerateParams {
  /** Prometheus job name of the sidecar's scrape job; every rule selects `job="<job>"`. */
  job: string;
  /** Prepended to every alert name (e.g. `Acme` → `AcmeQueueBacklogHigh`); '' = none. */
  alertPrefix: string;
  lang: Lang;
  /** Where the README's runbook anchors live: `runbook_url` = `<runbookBase>#<alert anchor>`. */
  runbookBase: string;
  thresholds: Thresholds;
  /** Severity per (base) alert name, for alerts with a single level. */
  severities: Record<string, Severity>;
  /** Grafana `__inputs` name of the Prometheus data source the Import dialog asks for. */
  datasourceInput: string;
  /** The sidecar as Alertmanager reaches it (webhook URLs) and as Prometheus scrapes it (`host:port`). */
  relayURL: string;
  /** Default of the dashboards' `queuescope_url` variable: the sidecar as a browser reaches it (data links to its queue views). */
  queuescopeURL: string;
}

export const DEFAULT_PARAMS: Readonly<GenerateParams> = {
  job: 'queuescope',
  alertPrefix: '',
  lang: 'zh',
  runbookBase: 'README.md',
  thresholds: DEFAULT_THRESHOLDS,
  severities: {},
  datasourceInput: 'DS_PROMETHEUS',
  relayURL: 'http://queuescope:9640',
  queuescopeURL: 'http://localhost:9640',
};

/** Bad generate parameters; the CLI exits 2 with this message. */
export class GenerateParamError extends Error {
  override readonly name = 'GenerateParamError';
}

/**
 * Fills in defaults and validates.
 * @throws GenerateParamError naming the bad parameter.
 */
export function resolveParams(partial: Partial<Omit<GenerateParams, 'thresholds'>> & { thresholds?: Partial<Thresholds> }): GenerateParams {
  const p: GenerateParams = {
    ...DEFAULT_PARAMS,
    ...partial,
    thresholds: { ...DEFAULT_THRESHOLDS, ...(partial.thresholds ?? {}) },
    severities: { ...(partial.severities ?? {}) },
  };
  // a job name goes into `job="…"` matchers and YAML unquoted: keep it to Prometheus' label-value-safe subset
  if (!/^[A-Za-z0-9_.:-]+$/.test(p.job)) throw new GenerateParamError(`--job "${p.job}": use letters, digits, _ . : -`);
  if (!/^([A-Z][A-Za-z0-9]*)?$/.test(p.alertPrefix)) throw new GenerateParamError(`--alert-prefix "${p.alertPrefix}": an UpperCamelCase word (alert names are identifiers)`);
  if (p.lang !== 'zh' && p.lang !== 'en') throw new GenerateParamError(`--lang "${String(p.lang)}": zh or en`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.datasourceInput)) throw new GenerateParamError(`--datasource-input "${p.datasourceInput}": an identifier such as DS_PROMETHEUS`);
  for (const [k, v] of Object.entries(p.thresholds)) {
    if (!Number.isFinite(v) || v < 0) throw new GenerateParamError(`--threshold ${k}=${v}: a non-negative number`);
  }
  for (const [k, v] of Object.entries(p.severities)) {
    if (v !== 'critical' && v !== 'warning') throw new GenerateParamError(`--severity ${k}=${String(v)}: critical or warning`);
  }
  for (const [name, url] of [['--relay-url', p.relayURL], ['--queuescope-url', p.queuescopeURL]] as const) {
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new GenerateParamError(`${name} "${url}": an http(s) URL`);
    }
  }
  p.relayURL = p.relayURL.replace(/\/+$/, '');
  p.queuescopeURL = p.queuescopeURL.replace(/\/+$/, '');
  return p;
}

/** The PromQL matcher every rule carries. */
export function jobSelector(p: GenerateParams): string {
  return `job="${p.job}"`;
}
