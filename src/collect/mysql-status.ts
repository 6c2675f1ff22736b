/**
 * Pure parsing for the MySQL collector: SQL result rows in, samples out.
 *
 * Names and conversions follow prometheus/mysqld_exporter
 * (`collector/global_status.go`, `global_variables.go`,
 * `info_schema_processlist.go`, `parseStatus` in `collector.go`) so its
 * dashboards and mixin work on queuescope's output. Where mysqld_exporter
 * exports `untyped`, queuescope has to pick gauge or counter and must pass
 * `promtool check metrics`; see {@link globalStatusSamples}.
 */
import type { Labels, MetricType } from './types.js';

/** One sample with its family's declaration, ready for `SampleSink.declare` + `add`. */
export interface MysqlSample {
  /** Full family name as in the text exposition (counters end in `_total`). */
  readonly family: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: Labels;
  readonly value: number;
}

/** A `SHOW GLOBAL STATUS` / `SHOW GLOBAL VARIABLES` row: name, raw value (NULL as `null`). */
export type NameValueRow = readonly [name: string, value: string | number | null];

/** A grouped `information_schema.processlist` row (see `PROCESSLIST_SQL` in `mysql.ts`). */
export interface ProcesslistRow {
  readonly command: string | null;
  readonly state: string | null;
  readonly threads: number | string;
}

// "Jan _2 15:04:05 2006 MST" (Ssl_server_not_after) and "2006-01-02 15:04:05", as mysqld_exporter's parseStatus.
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const SSL_DATE_RE = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) (GMT|UTC)$/;
const SQL_DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Converts a status or variable value to a number the way mysqld_exporter's
 * `parseStatus` does: `ON`/`YES`/`Primary` → 1; `OFF`/`NO`/`DISABLED`/
 * `Connecting`/`non-Primary`/`Disconnected` → 0; an SSL certificate date
 * (`Dec 31 23:59:59 2030 GMT`) or SQL datetime (read as UTC) → unix seconds;
 * a decimal number → itself.
 * @returns the number, or `undefined` for anything else (text, empty, NULL) — callers skip those rows.
 */
export function parseStatusValue(raw: string | number | null | undefined): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  const text = raw.trim();
  switch (text.toLowerCase()) {
    case 'yes':
    case 'on':
    case 'primary':
      return 1;
    case 'no':
    case 'off':
    case 'disabled':
    case 'connecting':
    case 'non-primary':
    case 'disconnected':
      return 0;
  }
  if (DECIMAL_RE.test(text)) {
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  let m = SSL_DATE_RE.exec(text);
  if (m) {
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    if (month < 0) return undefined;
    return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
  }
  m = SQL_DATETIME_RE.exec(text);
  if (m) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  }
  return undefined;
}

/** mysqld_exporter's `validPrometheusName`: every character outside `[a-zA-Z0-9_]` becomes `_`, then lowercase. */
export function validPrometheusName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase();
}

// promtool 2.42's lint rules that a name alone can break (prometheus/client_golang `testutil/promlint`).
const UNIT_ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
const TYPE_WORDS = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gauge_histogram'];

/**
 * What `promtool check metrics` would say about a family name of this type,
 * or `undefined` when it is clean. Mirrors promlint's name rules: counters end
 * in `_total` and nothing else does; no `_count`/`_sum`/`_bucket` suffix outside
 * histograms and summaries; no abbreviated units (`_ms`, `_kb`, …) and no type
 * word (`_gauge`) as a name token; snake_case.
 */
export function lintFamilyName(name: string, type: MetricType): string | undefined {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) return 'not a valid metric name';
  if (/[a-z][A-Z]/.test(name)) return 'should be snake_case, not camelCase';
  const isCounter = type === 'counter';
  if (isCounter && !name.endsWith('_total')) return 'counter metrics should have "_total" suffix';
  if (!isCounter && name.endsWith('_total')) return 'non-counter metrics should not have "_total" suffix';
  if (type !== 'histogram') {
    for (const suffix of ['_count', '_sum', '_bucket']) {
      if (name.endsWith(suffix)) return `non-histogram and non-summary metrics should not have "${suffix}" suffix`;
    }
  }
  for (const unit of UNIT_ABBREVIATIONS) {
    if (name.includes(`_${unit}_`) || name.endsWith(`_${unit}`)) return 'metric names should not contain abbreviated units';
  }
  for (const word of TYPE_WORDS) {
    if (name.includes(`_${word}_`) || name.endsWith(`_${word}`)) return `metric name should not include type '${word}'`;
  }
  return undefined;
}

const STATUS = 'mysql_global_status_';
const GROUP_RE = /^(com|handler|connection_errors|innodb_buffer_pool_pages|innodb_rows|performance_schema)_(.*)$/;

/** The regrouped families (mysqld_exporter's descriptors; HELP names the status variables). */
export const GLOBAL_STATUS_GROUPS = {
  commands: { family: `${STATUS}commands_total`, type: 'counter', label: 'command', help: 'Statements executed, by command (Com_* from SHOW GLOBAL STATUS).' },
  handlers: { family: `${STATUS}handlers_total`, type: 'counter', label: 'handler', help: 'Storage-engine handler calls, by handler (Handler_* from SHOW GLOBAL STATUS).' },
  connectionErrors: { family: `${STATUS}connection_errors_total`, type: 'counter', label: 'error', help: 'Connection errors, by kind (Connection_errors_* from SHOW GLOBAL STATUS).' },
  bufferPoolPages: { family: `${STATUS}buffer_pool_pages`, type: 'gauge', label: 'state', help: 'InnoDB buffer pool pages by state (Innodb_buffer_pool_pages_{data,free,misc,old} from SHOW GLOBAL STATUS).' },
  bufferPoolDirtyPages: { family: `${STATUS}buffer_pool_dirty_pages`, type: 'gauge', label: '', help: 'InnoDB buffer pool dirty pages (Innodb_buffer_pool_pages_dirty from SHOW GLOBAL STATUS).' },
  bufferPoolPageChanges: { family: `${STATUS}buffer_pool_page_changes_total`, type: 'counter', label: 'operation', help: 'InnoDB buffer pool page state changes (other Innodb_buffer_pool_pages_* from SHOW GLOBAL STATUS).' },
  innodbRowOps: { family: `${STATUS}innodb_row_ops_total`, type: 'counter', label: 'operation', help: 'InnoDB row operations, by operation (Innodb_rows_* from SHOW GLOBAL STATUS; MySQL and MariaDB < 10.6 only).' },
  performanceSchemaLost: { family: `${STATUS}performance_schema_lost_total`, type: 'counter', label: 'instrumentation', help: 'Instrumentations performance_schema could not load or create for lack of memory (Performance_schema_*_lost from SHOW GLOBAL STATUS).' },
} as const satisfies Record<string, { family: string; type: MetricType; label: string; help: string }>;

/**
 * Status variables whose mysqld_exporter name fails promtool as a gauge or
 * counter (it gets away with them by exporting `untyped`). Each gets a clean
 * name instead; counts of events become counters, current sizes gauges.
 */
export const GLOBAL_STATUS_RENAMES: Readonly<Record<string, { readonly family: string; readonly type: MetricType }>> = {
  prepared_stmt_count: { family: `${STATUS}prepared_stmts`, type: 'gauge' },
  master_gtid_wait_count: { family: `${STATUS}master_gtid_waits_total`, type: 'counter' },
  binlog_group_commit_trigger_count: { family: `${STATUS}binlog_group_commit_triggers_total`, type: 'counter' },
  innodb_defragment_count: { family: `${STATUS}innodb_defragments_total`, type: 'counter' },
  secondary_engine_execution_count: { family: `${STATUS}secondary_engine_executions_total`, type: 'counter' },
  wsrep_thread_count: { family: `${STATUS}wsrep_threads`, type: 'gauge' },
  wsrep_applier_thread_count: { family: `${STATUS}wsrep_applier_threads`, type: 'gauge' },
  wsrep_rollbacker_thread_count: { family: `${STATUS}wsrep_rollbacker_threads`, type: 'gauge' },
  validate_password_dictionary_file_words_count: { family: `${STATUS}validate_password_dictionary_file_words`, type: 'gauge' },
};

/** Result of {@link globalStatusSamples}. */
export interface GlobalStatusResult {
  readonly samples: MysqlSample[];
  /** Numeric values by lowercased status name (before regrouping), for the monitor summary. */
  readonly values: ReadonlyMap<string, number>;
  /** Numeric rows left out because no promtool-clean name exists for them (original names). */
  readonly skipped: string[];
}

/**
 * Turns `SHOW GLOBAL STATUS` rows into samples.
 *
 * - Unparsable values (text, empty, NULL) are skipped, as in mysqld_exporter.
 * - `Com_*`, `Handler_*`, `Connection_errors_*`, `Innodb_rows_*`,
 *   `Innodb_buffer_pool_pages_*`, `Performance_schema_*` are regrouped into
 *   labelled families exactly as mysqld_exporter does ({@link GLOBAL_STATUS_GROUPS});
 *   `Innodb_buffer_pool_pages_total` is dropped (no total beside its parts).
 * - Every other row becomes `mysql_global_status_<lowercased name>`: a counter
 *   when the name already ends in `_total`, otherwise a gauge (mysqld_exporter:
 *   untyped), so `rate()` on e.g. `mysql_global_status_questions` works as with
 *   mysqld_exporter.
 * - Names promtool would reject get a clean name from {@link GLOBAL_STATUS_RENAMES},
 *   or are left out and listed in `skipped`.
 */
export function globalStatusSamples(rows: Iterable<NameValueRow>): GlobalStatusResult {
  const samples: MysqlSample[] = [];
  const values = new Map<string, number>();
  const skipped: string[] = [];
  for (const [rawName, rawValue] of rows) {
    const value = parseStatusValue(rawValue);
    if (value === undefined) continue;
    const key = validPrometheusName(rawName);
    values.set(key, value);
    const group = GROUP_RE.exec(key);
    if (group) {
      const kind = group[1]!;
      const rest = group[2]!;
      const G = GLOBAL_STATUS_GROUPS;
      const labelled = (g: (typeof G)[keyof typeof G], labelValue: string): MysqlSample => ({
        family: g.family,
        type: g.type,
        help: g.help,
        labels: g.label ? { [g.label]: labelValue } : {},
        value,
      });
      switch (kind) {
        case 'com':
          samples.push(labelled(G.commands, rest));
          break;
        case 'handler':
          samples.push(labelled(G.handlers, rest));
          break;
        case 'connection_errors':
          samples.push(labelled(G.connectionErrors, rest));
          break;
        case 'innodb_rows':
          samples.push(labelled(G.innodbRowOps, rest));
          break;
        case 'performance_schema':
          samples.push(labelled(G.performanceSchemaLost, rest));
          break;
        case 'innodb_buffer_pool_pages':
          if (rest === 'data' || rest === 'free' || rest === 'misc' || rest === 'old') samples.push(labelled(G.bufferPoolPages, rest));
          else if (rest === 'dirty') samples.push(labelled(G.bufferPoolDirtyPages, ''));
          else if (rest !== 'total') samples.push(labelled(G.bufferPoolPageChanges, rest));
          break;
      }
      continue;
    }
    const renamed = GLOBAL_STATUS_RENAMES[key];
    const family = renamed?.family ?? `${STATUS}${key}`;
    const type: MetricType = renamed?.type ?? (key.endsWith('_total') ? 'counter' : 'gauge');
    if (lintFamilyName(family, type) !== undefined) {
      skipped.push(rawName);
      continue;
    }
    const help = renamed
      ? `${rawName} from SHOW GLOBAL STATUS (renamed: mysqld_exporter's name fails promtool's lint).`
      : `${rawName} from SHOW GLOBAL STATUS.`;
    samples.push({ family, type, help, labels: {}, value });
  }
  return { samples, values, skipped };
}

/**
 * The curated `SHOW GLOBAL VARIABLES` exported as `mysql_global_variables_<name>`
 * gauges: limits and sizes that dashboards and alerts compare live values
 * against. mysqld_exporter exports every numeric variable, which fails
 * promtool on names like `max_error_count`; a variable the server lacks
 * (e.g. `query_cache_size` on MySQL 8) is simply absent.
 */
export const GLOBAL_VARIABLES: Readonly<Record<string, string>> = {
  max_connections: 'Maximum simultaneous client connections',
  max_user_connections: 'Maximum simultaneous connections per account (0 = no limit)',
  innodb_buffer_pool_size: 'InnoDB buffer pool size in bytes',
  innodb_log_buffer_size: 'InnoDB log buffer size in bytes',
  innodb_log_file_size: 'InnoDB redo log file size in bytes',
  innodb_flush_log_at_trx_commit: 'InnoDB redo flush policy at commit (0, 1 or 2)',
  innodb_io_capacity: 'InnoDB background I/O operations per second',
  innodb_open_files: 'Maximum .ibd files InnoDB keeps open',
  key_buffer_size: 'MyISAM key cache size in bytes',
  long_query_time: 'Seconds after which a query counts as slow (Slow_queries)',
  max_allowed_packet: 'Largest packet or generated string in bytes',
  max_heap_table_size: 'Largest MEMORY table in bytes',
  tmp_table_size: 'Largest in-memory internal temporary table in bytes',
  open_files_limit: 'File descriptors the server may open',
  query_cache_size: 'Query cache size in bytes (MariaDB, MySQL < 8)',
  read_only: '1 when the server is read-only for non-SUPER users',
  slow_query_log: '1 when the slow query log is on',
  log_bin: '1 when binary logging is on',
  sync_binlog: 'Commits per binary log fsync (0 = leave it to the OS)',
  table_definition_cache: 'Table definitions the server caches',
  table_open_cache: 'Open tables the server caches, for all threads',
  thread_cache_size: 'Threads the server keeps for reuse',
  thread_stack: 'Stack size of each thread in bytes',
  wait_timeout: 'Seconds an idle non-interactive connection is kept',
  interactive_timeout: 'Seconds an idle interactive connection is kept',
};

/** Text variables read for `mysql_version_info`. */
export const VERSION_VARIABLES = ['version', 'version_comment', 'innodb_version'] as const;

/** Result of {@link globalVariablesSamples}. */
export interface GlobalVariablesResult {
  readonly samples: MysqlSample[];
  /** Numeric values of the curated variables present, by name. */
  readonly values: ReadonlyMap<string, number>;
}

/**
 * Turns `SHOW GLOBAL VARIABLES WHERE Variable_name IN (…)` rows into the curated
 * `mysql_global_variables_*` gauges plus `mysql_version_info{version,version_comment,innodb_version}` = 1.
 * Rows not in {@link GLOBAL_VARIABLES} / {@link VERSION_VARIABLES} are ignored; a
 * missing version variable is `""` (MariaDB ≥ 10.10 has no `innodb_version`).
 */
export function globalVariablesSamples(rows: Iterable<NameValueRow>): GlobalVariablesResult {
  const samples: MysqlSample[] = [];
  const values = new Map<string, number>();
  const text: Record<string, string> = { version: '', version_comment: '', innodb_version: '' };
  for (const [rawName, rawValue] of rows) {
    const key = validPrometheusName(rawName);
    if (key in text) {
      text[key] = rawValue === null ? '' : String(rawValue);
      continue;
    }
    const help = GLOBAL_VARIABLES[key];
    if (help === undefined) continue;
    const value = parseStatusValue(rawValue);
    if (value === undefined) continue;
    values.set(key, value);
    samples.push({ family: `mysql_global_variables_${key}`, type: 'gauge', help: `${help} (${key} from SHOW GLOBAL VARIABLES).`, labels: {}, value });
  }
  samples.push({
    family: 'mysql_version_info',
    type: 'info',
    help: 'MySQL version and distribution (version, version_comment, innodb_version from SHOW GLOBAL VARIABLES).',
    labels: { version: text.version ?? '', version_comment: text.version_comment ?? '', innodb_version: text.innodb_version ?? '' },
    value: 1,
  });
  return { samples, values };
}

/**
 * mysqld_exporter's `sanitizeState` for command and state label values:
 * lowercase, drop `; , : . ( )`, spaces and dashes become `_`. Unlike
 * mysqld_exporter (which writes `unknown`), an empty or NULL value stays `""`.
 */
export function sanitizeProcesslistLabel(value: string | null): string {
  if (!value) return '';
  return value
    .toLowerCase()
    .replace(/[;,:.()]/g, '')
    .replace(/[ -]/g, '_');
}

/** Family of {@link processlistSamples}. */
export const PROCESSLIST_FAMILY = {
  family: 'mysql_info_schema_processlist_threads',
  type: 'gauge',
  help: 'Threads by command and state (COUNT(*) from information_schema.processlist grouped by command, state; the exporter\'s own connection excluded).',
} as const satisfies { family: string; type: MetricType; help: string };

/**
 * Sums grouped processlist rows by sanitized `{command,state}` (two raw
 * states can sanitize to the same label) into `mysql_info_schema_processlist_threads`.
 */
export function processlistSamples(rows: Iterable<ProcesslistRow>): MysqlSample[] {
  const counts = new Map<string, { command: string; state: string; threads: number }>();
  for (const row of rows) {
    const command = sanitizeProcesslistLabel(row.command);
    const state = sanitizeProcesslistLabel(row.state);
    const threads = Number(row.threads);
    if (!Number.isFinite(threads)) continue;
    const key = `${command}\u0000${state}`;
    const entry = counts.get(key);
    if (entry) entry.threads += threads;
    else counts.set(key, { command, state, threads });
  }
  return [...counts.values()]
    .sort((a, b) => a.command.localeCompare(b.command) || a.state.localeCompare(b.state))
    .map((e) => ({ ...PROCESSLIST_FAMILY, labels: { command: e.command, state: e.state }, value: e.threads }));
}
