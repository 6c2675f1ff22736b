import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  GLOBAL_STATUS_RENAMES,
  GLOBAL_VARIABLES,
  globalStatusSamples,
  globalVariablesSamples,
  lintFamilyName,
  parseStatusValue,
  processlistSamples,
  sanitizeProcesslistLabel,
  type MysqlSample,
  type NameValueRow,
} from '../../src/collect/mysql-status.js';
import { parseMysqlTarget } from '../../src/collect/mysql.js';
import { redactUrl as redactMysqlUrl } from '../../src/config/redact.js';

/** SHOW GLOBAL STATUS of a fresh MariaDB 10.11 (Debian 12), as `mariadb -N` printed it. */
const MARIADB_STATUS: NameValueRow[] = readFileSync(new URL('./fixtures/mysql-status-mariadb-10.11.tsv', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => {
    const [name, value] = line.split('\t') as [string, string | undefined];
    return [name, value === 'NULL' ? null : (value ?? '')] as const;
  });

/** Hand-written rows with MySQL 8.0 names MariaDB lacks (no MySQL 8 server is packaged for these machines). */
const MYSQL8_STATUS: NameValueRow[] = [
  ['Innodb_rows_read', '120'],
  ['Innodb_rows_inserted', '7'],
  ['Prepared_stmt_count', '3'],
  ['Secondary_engine_execution_count', '0'],
  ['Ssl_server_not_after', 'Dec 31 23:59:59 2030 GMT'],
  ['Ssl_server_not_before', 'Jan  2 03:04:05 2020 GMT'],
  ['Performance_schema_session_connect_attrs_longest_seen', '0'],
  ['validate_password.dictionary_file_words_count', '11'],
  ['Error_log_latest_write', '1700000000000000'],
  ['Mysqlx_ssl_server_not_after', ''],
  ['Rsa_public_key', '-----BEGIN PUBLIC KEY-----'],
];

function find(samples: readonly MysqlSample[], family: string, labels: Record<string, string> = {}): MysqlSample | undefined {
  return samples.find((s) => s.family === family && JSON.stringify(s.labels) === JSON.stringify(labels));
}

describe('parseStatusValue', () => {
  it.each([
    ['123', 123],
    ['0.000536', 0.000536],
    ['-4', -4],
    ['1e3', 1000],
    ['18446744073709551615', 18446744073709551615],
    ['ON', 1],
    ['yes', 1],
    ['Primary', 1],
    ['OFF', 0],
    ['NO', 0],
    ['DISABLED', 0],
    ['Disconnected', 0],
    ['non-Primary', 0],
    ['Connecting', 0],
    ['Dec 31 23:59:59 2030 GMT', Date.UTC(2030, 11, 31, 23, 59, 59) / 1000],
    ['Jan  2 03:04:05 2020 GMT', Date.UTC(2020, 0, 2, 3, 4, 5) / 1000],
    ['2024-05-06 07:08:09', Date.UTC(2024, 4, 6, 7, 8, 9) / 1000],
    [42, 42],
  ] as const)('%j -> %d', (raw, expected) => {
    expect(parseStatusValue(raw)).toBe(expected);
  });

  it.each(['', 'NULL', 'AUTH_MASTER', 'Buffer pool(s) load completed at 261120 21:54:21', 'mysql-bin.000012', '0x10', 'Infinity', 'NaN', '1,5', 'NONE'])(
    'skips %j',
    (raw) => {
      expect(parseStatusValue(raw)).toBeUndefined();
    },
  );

  it('skips NULL and non-finite numbers', () => {
    expect(parseStatusValue(null)).toBeUndefined();
    expect(parseStatusValue(Number.NaN)).toBeUndefined();
  });
});

describe('lintFamilyName (promtool check metrics name rules)', () => {
  it('accepts clean names', () => {
    expect(lintFamilyName('mysql_global_status_questions', 'gauge')).toBeUndefined();
    expect(lintFamilyName('mysql_global_status_commands_total', 'counter')).toBeUndefined();
    expect(lintFamilyName('mysql_version_info', 'info')).toBeUndefined();
  });
  it.each([
    ['mysql_global_status_prepared_stmt_count', 'gauge', '_count'],
    ['mysql_global_variables_max_error_count', 'gauge', '_count'],
    ['mysql_x_sum', 'gauge', '_sum'],
    ['mysql_x', 'counter', '_total'],
    ['mysql_x_total', 'gauge', '_total'],
    ['mysql_x_ms', 'gauge', 'abbreviated units'],
    ['mysql_x_kb_used', 'gauge', 'abbreviated units'],
    ['mysql_x_gauge', 'gauge', "type 'gauge'"],
  ] as const)('rejects %s as %s', (name, type, why) => {
    expect(lintFamilyName(name, type)).toContain(why);
  });
});

describe('globalStatusSamples on MariaDB 10.11 rows', () => {
  const { samples, values, skipped } = globalStatusSamples(MARIADB_STATUS);

  it('exports plain numeric rows as lowercased gauges whose HELP names the source', () => {
    expect(find(samples, 'mysql_global_status_threads_connected')).toMatchObject({ type: 'gauge', value: 1 });
    expect(find(samples, 'mysql_global_status_questions')).toMatchObject({ type: 'gauge', value: 5 });
    expect(find(samples, 'mysql_global_status_uptime')?.help).toBe('Uptime from SHOW GLOBAL STATUS.');
    expect(find(samples, 'mysql_global_status_busy_time')?.value).toBe(0);
    expect(find(samples, 'mysql_global_status_wsrep_local_index')?.value).toBe(18446744073709551615);
  });

  it('maps ON/OFF and Disconnected to 1/0 and skips text, empty and NULL rows', () => {
    expect(find(samples, 'mysql_global_status_innodb_have_punch_hole')?.value).toBe(1);
    expect(find(samples, 'mysql_global_status_slave_running')?.value).toBe(0);
    expect(find(samples, 'mysql_global_status_wsrep_cluster_status')?.value).toBe(0);
    for (const family of ['rpl_status', 'ssl_cipher', 'max_memory_used', 'innodb_buffer_pool_load_status', 'ssl_session_cache_mode', 'binlog_snapshot_file']) {
      expect(find(samples, `mysql_global_status_${family}`), family).toBeUndefined();
    }
  });

  it('regroups Com_*, Handler_*, Connection_errors_* as mysqld_exporter does', () => {
    expect(find(samples, 'mysql_global_status_commands_total', { command: 'select' })).toMatchObject({ type: 'counter', value: 2 });
    expect(find(samples, 'mysql_global_status_commands_total', { command: 'show_status' })?.value).toBe(1);
    expect(find(samples, 'mysql_global_status_handlers_total', { handler: 'read_rnd_next' })).toMatchObject({ type: 'counter', value: 24 });
    expect(find(samples, 'mysql_global_status_connection_errors_total', { error: 'max_connections' })).toMatchObject({ type: 'counter', value: 0 });
    expect(find(samples, 'mysql_global_status_com_select')).toBeUndefined();
    expect(find(samples, 'mysql_global_status_handler_commit')).toBeUndefined();
  });

  it('splits Innodb_buffer_pool_pages_* into pages{state}, dirty pages and page changes, without the total', () => {
    expect(find(samples, 'mysql_global_status_buffer_pool_pages', { state: 'data' })).toMatchObject({ type: 'gauge', value: 301 });
    expect(find(samples, 'mysql_global_status_buffer_pool_pages', { state: 'free' })?.value).toBe(1727);
    expect(find(samples, 'mysql_global_status_buffer_pool_pages', { state: 'misc' })?.value).toBe(0);
    expect(find(samples, 'mysql_global_status_buffer_pool_pages', { state: 'old' })?.value).toBe(0);
    expect(samples.filter((s) => s.family === 'mysql_global_status_buffer_pool_pages')).toHaveLength(4);
    expect(find(samples, 'mysql_global_status_buffer_pool_dirty_pages')).toMatchObject({ type: 'gauge', value: 12 });
    expect(find(samples, 'mysql_global_status_buffer_pool_page_changes_total', { operation: 'flushed' })?.type).toBe('counter');
    expect(samples.some((s) => JSON.stringify(s.labels).includes('total'))).toBe(false);
  });

  it('regroups Performance_schema_*_lost', () => {
    expect(find(samples, 'mysql_global_status_performance_schema_lost_total', { instrumentation: 'digest_lost' })?.type).toBe('counter');
  });

  it('renames the *_count rows promtool would reject, and keeps every family lint-clean', () => {
    expect(find(samples, 'mysql_global_status_prepared_stmts')).toMatchObject({ type: 'gauge', value: 0 });
    expect(find(samples, 'mysql_global_status_master_gtid_waits_total')?.type).toBe('counter');
    expect(find(samples, 'mysql_global_status_binlog_group_commit_triggers_total')?.type).toBe('counter');
    expect(find(samples, 'mysql_global_status_innodb_defragments_total')?.type).toBe('counter');
    expect(find(samples, 'mysql_global_status_wsrep_applier_threads')?.type).toBe('gauge');
    for (const s of samples) expect(lintFamilyName(s.family, s.type), s.family).toBeUndefined();
    expect(skipped).toEqual([]);
  });

  it('keeps one type and help per family', () => {
    const seen = new Map<string, string>();
    for (const s of samples) {
      const decl = `${s.type}|${s.help}`;
      expect(seen.get(s.family) ?? decl, s.family).toBe(decl);
      seen.set(s.family, decl);
    }
  });

  it('returns the raw numeric values by lowercased name for the summary', () => {
    expect(values.get('threads_running')).toBe(1);
    expect(values.get('connections')).toBe(4);
    expect(values.get('slow_queries')).toBe(0);
  });
});

describe('globalStatusSamples on MySQL 8 names', () => {
  const { samples, skipped } = globalStatusSamples([...MYSQL8_STATUS, ['Some_new_count', '1'], ['Weird_latency_ms', '3'], ['Future_requests_total', '9']]);

  it('regroups Innodb_rows_* into innodb_row_ops_total{operation}', () => {
    expect(find(samples, 'mysql_global_status_innodb_row_ops_total', { operation: 'read' })).toMatchObject({ type: 'counter', value: 120 });
    expect(find(samples, 'mysql_global_status_innodb_row_ops_total', { operation: 'inserted' })?.value).toBe(7);
  });

  it('turns SSL certificate dates into unix seconds', () => {
    expect(find(samples, 'mysql_global_status_ssl_server_not_after')?.value).toBe(Date.UTC(2030, 11, 31, 23, 59, 59) / 1000);
  });

  it('sanitizes dotted component names and renames the reserved suffixes', () => {
    expect(find(samples, 'mysql_global_status_validate_password_dictionary_file_words')?.value).toBe(11);
    expect(find(samples, 'mysql_global_status_prepared_stmts')?.value).toBe(3);
    expect(find(samples, 'mysql_global_status_secondary_engine_executions_total')?.type).toBe('counter');
  });

  it('exports names already ending in _total as counters', () => {
    expect(find(samples, 'mysql_global_status_future_requests_total')).toMatchObject({ type: 'counter', value: 9 });
  });

  it('leaves out unknown rows without a promtool-clean name and reports them', () => {
    expect(skipped).toEqual(['Some_new_count', 'Weird_latency_ms']);
    expect(find(samples, 'mysql_global_status_some_new_count')).toBeUndefined();
    for (const s of samples) expect(lintFamilyName(s.family, s.type), s.family).toBeUndefined();
  });

  it('every rename target is lint-clean', () => {
    for (const r of Object.values(GLOBAL_STATUS_RENAMES)) expect(lintFamilyName(r.family, r.type), r.family).toBeUndefined();
  });
});

describe('globalVariablesSamples', () => {
  const rows: NameValueRow[] = [
    ['max_connections', '151'],
    ['innodb_buffer_pool_size', '134217728'],
    ['long_query_time', '10.000000'],
    ['read_only', 'OFF'],
    ['max_error_count', '64'], // not curated: promtool rejects the name
    ['version', '10.11.19-MariaDB-0+deb12u1'],
    ['version_comment', 'Debian 12'],
  ];
  const { samples, values } = globalVariablesSamples(rows);

  it('exports the curated numeric variables as gauges naming SHOW GLOBAL VARIABLES', () => {
    expect(find(samples, 'mysql_global_variables_max_connections')).toMatchObject({ type: 'gauge', value: 151 });
    expect(find(samples, 'mysql_global_variables_long_query_time')?.value).toBe(10);
    expect(find(samples, 'mysql_global_variables_read_only')?.value).toBe(0);
    expect(find(samples, 'mysql_global_variables_innodb_buffer_pool_size')?.help).toMatch(/bytes.*SHOW GLOBAL VARIABLES/);
    expect(find(samples, 'mysql_global_variables_max_error_count')).toBeUndefined();
    expect(values.get('max_connections')).toBe(151);
  });

  it('emits mysql_version_info with "" for a missing innodb_version (MariaDB >= 10.10)', () => {
    expect(find(samples, 'mysql_version_info', { version: '10.11.19-MariaDB-0+deb12u1', version_comment: 'Debian 12', innodb_version: '' })).toMatchObject({
      type: 'info',
      value: 1,
    });
  });

  it('has a lint-clean name for every curated variable', () => {
    for (const name of Object.keys(GLOBAL_VARIABLES)) expect(lintFamilyName(`mysql_global_variables_${name}`, 'gauge'), name).toBeUndefined();
  });
});

describe('processlist', () => {
  it('sanitizes labels like mysqld_exporter but keeps empty as ""', () => {
    expect(sanitizeProcesslistLabel('Waiting for table metadata lock')).toBe('waiting_for_table_metadata_lock');
    expect(sanitizeProcesslistLabel('Binlog Dump GTID')).toBe('binlog_dump_gtid');
    expect(sanitizeProcesslistLabel('Sending to client; (x.y), z-w:')).toBe('sending_to_client_xy_z_w');
    expect(sanitizeProcesslistLabel('')).toBe('');
    expect(sanitizeProcesslistLabel(null)).toBe('');
  });

  it('sums rows whose labels sanitize alike and sorts by command, state', () => {
    const samples = processlistSamples([
      { command: 'Sleep', state: '', threads: 2 },
      { command: 'Query', state: 'Sending data', threads: '1' },
      { command: 'Query', state: 'sending data', threads: 3 },
      { command: 'Daemon', state: null, threads: 5 },
    ]);
    expect(samples.map((s) => [s.labels.command, s.labels.state, s.value])).toEqual([
      ['daemon', '', 5],
      ['query', 'sending_data', 4],
      ['sleep', '', 2],
    ]);
    expect(samples[0]).toMatchObject({ family: 'mysql_info_schema_processlist_threads', type: 'gauge' });
    expect(samples[0]?.help).toContain('information_schema.processlist');
  });
});

describe('connection settings', () => {
  it('redacts the password in a URL', () => {
    expect(redactMysqlUrl('mysql://exporter:s3cr%40t@db:3306/')).toBe('mysql://exporter:<secret>@db:3306/');
    expect(redactMysqlUrl('mysql://exporter@db:3306/')).toBe('mysql://exporter@db:3306/');
    expect(redactMysqlUrl('mysql://db:3306/')).toBe('mysql://db:3306/');
  });

  it('decodes user and password, defaults the port, and lets mysql.password win', () => {
    expect(parseMysqlTarget({ url: 'mysql://exp%40x:p%23w%2F@10.0.0.5/app' })).toEqual({
      host: '10.0.0.5',
      port: 3306,
      user: 'exp@x',
      password: 'p#w/',
      database: 'app',
    });
    expect(parseMysqlTarget({ url: 'mysql://exporter:fromurl@[::1]:3307/', password: 'fromconfig' })).toMatchObject({
      host: '::1',
      port: 3307,
      password: 'fromconfig',
      database: undefined,
    });
  });

  it('never puts the password in a parse error', () => {
    expect(() => parseMysqlTarget({ url: 'mysql://u:hunter2@bad host/' })).toThrow(/^(?!.*hunter2).*<secret>/);
  });
});
