/**
 * The MySQL collector against a private MariaDB (test/helpers/mariadb.ts):
 * values checked against SHOW GLOBAL STATUS / VARIABLES read independently as
 * root, promtool on the exposition, processlist, deadline, kill and restart.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MysqlConfig } from '../../src/config/schema.js';
import { MysqlCollector } from '../../src/collect/mysql.js';
import type { Labels, MetricType, SampleSink } from '../../src/collect/types.js';
import { findBinary } from '../helpers/binaries.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { freePort, waitFor } from '../helpers/ports.js';

/** Records what a collector writes; strict where the real sink is (undeclared family, duplicate series). */
class RecordingSink implements SampleSink {
  readonly families = new Map<string, { type: MetricType; help: string }>();
  readonly samples: { family: string; labels: Labels; value: number }[] = [];
  readonly failures: string[] = [];

  declare(family: string, type: MetricType, help: string): void {
    const prev = this.families.get(family);
    if (prev && prev.type !== type) throw new Error(`${family} re-declared as ${type} (was ${prev.type})`);
    if (!prev) this.families.set(family, { type, help });
  }
  add(family: string, labels: Labels, value: number): void {
    if (!this.families.has(family)) throw new Error(`sample for undeclared family ${family}`);
    if (this.find(family, labels)) throw new Error(`duplicate series ${family}${JSON.stringify(labels)}`);
    this.samples.push({ family, labels, value });
  }
  fail(reason: string): void {
    this.failures.push(reason);
  }

  find(family: string, labels: Labels = {}): { value: number } | undefined {
    const key = JSON.stringify(Object.entries(labels).sort());
    return this.samples.find((s) => s.family === family && JSON.stringify(Object.entries(s.labels).sort()) === key);
  }
  /** The value of one series; fails the test when absent. */
  value(family: string, labels: Labels = {}): number {
    const s = this.find(family, labels);
    if (!s) throw new Error(`no sample ${family}${JSON.stringify(labels)}; failures: ${this.failures.join(' | ')}`);
    return s.value;
  }
  series(family: string): { labels: Labels; value: number }[] {
    return this.samples.filter((s) => s.family === family);
  }
  /** Prometheus text format 0.0.4 (info families as gauges), for promtool. */
  exposition(): string {
    const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const lines: string[] = [];
    for (const [family, { type, help }] of this.families) {
      const rows = this.series(family);
      if (rows.length === 0) continue;
      lines.push(`# HELP ${family} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${family} ${type === 'info' ? 'gauge' : type}`);
      for (const r of rows) {
        const labels = Object.entries(r.labels).map(([k, v]) => `${k}="${esc(v)}"`);
        lines.push(`${family}${labels.length ? `{${labels.join(',')}}` : ''} ${r.value}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

const log = pino({ level: 'silent' });
const cfgFor = (url: string, extra: Partial<MysqlConfig> = {}): MysqlConfig => ({ url, timeout: 2000, processlist: true, ...extra });

let server: MariadbServer;
let collector: MysqlCollector;
const extraConnections: mysql.Connection[] = [];

async function collect(c: MysqlCollector = collector, budgetMs = 5000): Promise<RecordingSink> {
  const sink = new RecordingSink();
  await c.collect(sink, Date.now() + budgetMs);
  return sink;
}

async function statusAsRoot(): Promise<Map<string, string>> {
  const rows = await server.query<{ Variable_name: string; Value: string }>('SHOW GLOBAL STATUS');
  return new Map(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
}

beforeAll(async () => {
  server = await startMariadb();
  collector = new MysqlCollector(cfgFor(server.url), log);
});

afterAll(async () => {
  for (const c of extraConnections) c.destroy();
  await collector?.close();
  await server?.stop();
});

describe('MySQL collector against MariaDB', () => {
  it('reports up with values matching SHOW GLOBAL STATUS read independently', async () => {
    const before = await statusAsRoot();
    const sink = await collect();
    const after = await statusAsRoot();
    expect(sink.failures).toEqual([]);
    expect(sink.value('mysql_up')).toBe(1);

    // Values that do not move while the test runs must match exactly.
    expect(sink.value('mysql_global_status_innodb_page_size')).toBe(Number(after.get('innodb_page_size')));
    expect(sink.value('mysql_global_status_acl_users')).toBe(Number(after.get('acl_users')));
    // Setup ran CREATE USER, GRANT and CREATE DATABASE exactly once.
    expect(sink.value('mysql_global_status_commands_total', { command: 'create_user' })).toBe(1);
    expect(sink.value('mysql_global_status_commands_total', { command: 'grant' })).toBe(1);
    expect(sink.value('mysql_global_status_commands_total', { command: 'create_db' })).toBe(1);

    // Counters that move: the collector's reading lies between the two independent ones.
    for (const [family, labels, name] of [
      ['mysql_global_status_questions', {}, 'questions'],
      ['mysql_global_status_connections', {}, 'connections'],
      ['mysql_global_status_uptime', {}, 'uptime'],
      ['mysql_global_status_commands_total', { command: 'show_status' }, 'com_show_status'],
      ['mysql_global_status_handlers_total', { handler: 'read_rnd_next' }, 'handler_read_rnd_next'],
    ] as const) {
      const v = sink.value(family, labels);
      expect(v, name).toBeGreaterThanOrEqual(Number(before.get(name)));
      expect(v, name).toBeLessThanOrEqual(Number(after.get(name)));
    }

    // ON/OFF conversion on a live row.
    expect(after.get('innodb_have_punch_hole')).toMatch(/^(ON|OFF)$/);
    expect(sink.value('mysql_global_status_innodb_have_punch_hole')).toBe(after.get('innodb_have_punch_hole') === 'ON' ? 1 : 0);
  });

  it('regroups Com_*, Handler_*, Connection_errors_* and buffer pool pages like mysqld_exporter', async () => {
    const sink = await collect();
    const status = await statusAsRoot();
    const countOf = (prefix: string): number => [...status.keys()].filter((k) => k.startsWith(prefix)).length;

    expect(sink.series('mysql_global_status_commands_total')).toHaveLength(countOf('com_'));
    expect(sink.series('mysql_global_status_handlers_total')).toHaveLength(countOf('handler_'));
    expect(sink.series('mysql_global_status_connection_errors_total')).toHaveLength(countOf('connection_errors_'));
    expect(sink.series('mysql_global_status_buffer_pool_pages').map((s) => s.labels.state).sort()).toEqual(['data', 'free', 'misc', 'old']);
    expect(sink.families.get('mysql_global_status_commands_total')?.type).toBe('counter');
    expect(sink.families.get('mysql_global_status_buffer_pool_pages')?.type).toBe('gauge');
    expect(sink.find('mysql_global_status_com_select')).toBeUndefined();
    expect(sink.find('mysql_global_status_innodb_buffer_pool_pages_total')).toBeUndefined();
    // MariaDB 10.11 dropped Innodb_rows_*; the family appears exactly when the server has them.
    expect(sink.series('mysql_global_status_innodb_row_ops_total')).toHaveLength(countOf('innodb_rows_'));
    // Data + free pages can only be as many as the pool has.
    const pages = ['data', 'free'].map((state) => sink.value('mysql_global_status_buffer_pool_pages', { state }));
    expect(pages[0]! + pages[1]!).toBeLessThanOrEqual(Number(status.get('innodb_buffer_pool_pages_total')));
    expect(pages[0]).toBeGreaterThan(0);
  });

  it('exports the curated variables and version info as the server reports them', async () => {
    const sink = await collect();
    const [vars] = await server.query<Record<string, string | number>>(
      'SELECT @@max_connections AS mc, @@innodb_buffer_pool_size AS bp, @@long_query_time AS lqt, @@wait_timeout AS wt, @@table_open_cache AS toc, @@thread_cache_size AS tcs, @@max_user_connections AS muc, @@version AS v, @@version_comment AS vc',
    );
    expect(sink.value('mysql_global_variables_max_connections')).toBe(60); // --max-connections=60 in the helper
    expect(sink.value('mysql_global_variables_max_connections')).toBe(Number(vars!.mc));
    expect(sink.value('mysql_global_variables_innodb_buffer_pool_size')).toBe(32 * 1024 * 1024);
    expect(sink.value('mysql_global_variables_innodb_buffer_pool_size')).toBe(Number(vars!.bp));
    expect(sink.value('mysql_global_variables_long_query_time')).toBe(Number(vars!.lqt));
    expect(sink.value('mysql_global_variables_wait_timeout')).toBe(Number(vars!.wt));
    expect(sink.value('mysql_global_variables_table_open_cache')).toBe(Number(vars!.toc));
    expect(sink.value('mysql_global_variables_thread_cache_size')).toBe(Number(vars!.tcs));
    expect(sink.value('mysql_global_variables_max_user_connections')).toBe(Number(vars!.muc));
    expect(sink.value('mysql_global_variables_log_bin')).toBe(0); // --skip-log-bin
    expect(sink.find('mysql_global_variables_max_error_count')).toBeUndefined();

    const info = sink.series('mysql_version_info');
    expect(info).toHaveLength(1);
    expect(info[0]!.value).toBe(1);
    expect(info[0]!.labels).toEqual({ version: String(vars!.v), version_comment: String(vars!.vc), innodb_version: '' });
    expect(info[0]!.labels.version).toMatch(/MariaDB/);
    expect(sink.families.get('mysql_version_info')?.type).toBe('info');
  });

  it('produces an exposition promtool check metrics accepts, with HELP naming the SQL source', async () => {
    const sink = await collect();
    const text = sink.exposition();
    expect(sink.families.size).toBeGreaterThan(300);
    const promtool = findBinary('promtool', 'prometheus');
    const res = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${res.stdout}${res.stderr}`).toBe('');
    expect(res.status).toBe(0);
    for (const [family, { help }] of sink.families) {
      expect(help, family).toMatch(/SHOW GLOBAL STATUS|SHOW GLOBAL VARIABLES|information_schema\.processlist|mysql_up|connected/);
    }
  });

  it('counts processlist threads by command and state, idle and sleeping ones included', async () => {
    const first = await collect();
    const sleepingBefore = first.find('mysql_info_schema_processlist_threads', { command: 'sleep', state: '' })?.value ?? 0;
    expect(first.find('mysql_info_schema_processlist_threads', { command: 'query', state: 'user_sleep' })).toBeUndefined();

    for (let i = 0; i < 3; i++) {
      extraConnections.push(await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', password: '' }));
    }
    const busy = extraConnections[0]!;
    const [[idRow]] = (await busy.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    const sleeping = busy.query('SELECT SLEEP(25)').catch(() => undefined);
    await waitFor('SELECT SLEEP in the processlist', async () => {
      const rows = await server.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE state = 'User sleep'");
      return Number(rows[0]?.n) === 1;
    });

    const second = await collect();
    expect(second.failures).toEqual([]);
    // Two more idle connections; the third runs SELECT SLEEP (command Query, state "User sleep").
    expect(second.value('mysql_info_schema_processlist_threads', { command: 'sleep', state: '' })).toBe(sleepingBefore + 2);
    expect(second.value('mysql_info_schema_processlist_threads', { command: 'query', state: 'user_sleep' })).toBe(1);
    for (const s of second.series('mysql_info_schema_processlist_threads')) {
      expect(s.labels.command).toMatch(/^[a-z0-9_]+$/);
      expect(s.labels.state).toMatch(/^[a-z0-9_]*$/);
    }

    await server.query(`KILL QUERY ${idRow.id}`);
    await sleeping;
  });

  it('fills the summary from the last collection', async () => {
    await collect();
    const s = collector.summary();
    const status = await statusAsRoot();
    expect(s.up).toBe(true);
    expect(s.maxConnections).toBe(60);
    expect(s.slowQueries).toBe(Number(status.get('slow_queries')));
    expect(s.threadsConnected).toBeGreaterThanOrEqual(1);
    expect(s.threadsRunning).toBeGreaterThanOrEqual(1);
    expect(s.connections).toBeGreaterThan(0);
    expect(s.connections).toBeLessThanOrEqual(Number(status.get('connections')));
  });

  it('uses mysql.password over the URL password, and never leaks a password into failures', async () => {
    const wrongUrl = server.url.replace(encodeURIComponent(server.password), 'wrong-Pa55word');
    const bad = new MysqlCollector(cfgFor(wrongUrl), log);
    const fixed = new MysqlCollector(cfgFor(wrongUrl, { password: server.password }), log);
    try {
      const badSink = await collect(bad);
      expect(badSink.value('mysql_up')).toBe(0);
      expect(badSink.failures).toHaveLength(1);
      expect(badSink.failures[0]).toMatch(/Access denied/);
      expect(badSink.failures[0]).toContain('mysql://exporter:<secret>@127.0.0.1');
      expect(badSink.failures[0]).not.toContain('wrong-Pa55word');
      expect(bad.summary()).toEqual({ up: false, threadsConnected: null, connections: null, maxConnections: null, slowQueries: null, threadsRunning: null });

      const okSink = await collect(fixed);
      expect(okSink.failures).toEqual([]);
      expect(okSink.value('mysql_up')).toBe(1);
      expect(okSink.failures.join('')).not.toContain(server.password);
    } finally {
      await bad.close();
      await fixed.close();
    }
  });

  it('gives up at the deadline on a server that accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const hung = new MysqlCollector(cfgFor(`mysql://exporter:topsecret@127.0.0.1:${port}/`, { timeout: 5000 }), log);
    try {
      const sink = new RecordingSink();
      const started = Date.now();
      const deadline = started + 400;
      await hung.collect(sink, deadline);
      expect(Date.now()).toBeLessThan(deadline + 150);
      expect(sink.value('mysql_up')).toBe(0);
      expect(sink.failures[0]).toMatch(/deadline/);
      expect(sink.failures[0]).not.toContain('topsecret');
    } finally {
      const closing = Date.now();
      await hung.close();
      expect(Date.now() - closing).toBeLessThan(1500);
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reports mysql_up 0 within the deadline when the server hangs mid-session, then recovers', async () => {
    const c = new MysqlCollector(cfgFor(server.url, { timeout: 500 }), log);
    try {
      expect((await collect(c)).value('mysql_up')).toBe(1); // leaves an idle pooled connection
      await server.freeze();
      const started = Date.now();
      const sink = await collect(c, 1500);
      expect(Date.now() - started).toBeLessThan(1650);
      expect(sink.value('mysql_up')).toBe(0);
      expect(sink.failures.join('\n')).toMatch(/SHOW GLOBAL (STATUS|VARIABLES).*(timeout|deadline)/i);
      expect(sink.find('mysql_global_status_uptime')).toBeUndefined();
      await server.thaw();
      // The timed-out connection was destroyed, not handed back: the next scrape is clean.
      const after = await collect(c);
      expect(after.failures).toEqual([]);
      expect(after.value('mysql_up')).toBe(1);
    } finally {
      await server.thaw();
      await c.close();
    }
  });

  it('reports mysql_up 0 within the deadline when the server is killed, and recovers after restart', async () => {
    expect((await collect()).value('mysql_up')).toBe(1);
    await server.kill();

    const started = Date.now();
    const sink = await collect(collector, 3000);
    expect(Date.now() - started).toBeLessThan(3150);
    expect(sink.value('mysql_up')).toBe(0);
    expect(sink.failures.length).toBeGreaterThan(0);
    expect(sink.failures.join('\n')).not.toContain(server.password);
    expect(sink.find('mysql_global_status_uptime')).toBeUndefined();
    expect(collector.summary().up).toBe(false);

    // A second scrape against the dead server fails fast too (connection refused, no stale socket hang).
    const again = await collect(collector, 3000);
    expect(again.value('mysql_up')).toBe(0);

    await server.restart();
    const recovered = await waitFor(
      'mysql_up 1 after restart',
      async () => {
        const s = await collect();
        return s.find('mysql_up')?.value === 1 ? s : undefined;
      },
      10_000,
    );
    expect(recovered.failures).toEqual([]);
    // Fresh server: uptime restarted.
    expect(recovered.value('mysql_global_status_uptime')).toBeLessThan(60);
    expect(collector.summary().up).toBe(true);
  });

  it('reports mysql_up 0 after close() instead of throwing', async () => {
    const c = new MysqlCollector(cfgFor(server.url), log);
    expect((await collect(c)).value('mysql_up')).toBe(1);
    await c.close();
    await c.close();
    const sink = await collect(c);
    expect(sink.value('mysql_up')).toBe(0);
    expect(sink.failures).toEqual(['MySQL collector is closed']);
  });
});
