/**
 * The MySQL collector: `SHOW GLOBAL STATUS`, a curated `SHOW GLOBAL
 * VARIABLES`, and `information_schema.processlist`, read at scrape time over
 * a small mysql2 pool and exported under prometheus/mysqld_exporter's names
 * (parsing lives in `mysql-status.ts`).
 *
 * Works against MySQL ≥ 5.7 and MariaDB ≥ 10.3; the user needs
 * `PROCESS, REPLICATION CLIENT, SELECT` (PROCESS for other users' threads in
 * the processlist).
 */
import { createRequire } from 'node:module';
import type mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { unbracket } from '../host-port.js';
import { SeenOnce } from '../log-once.js';
import type { MysqlConfig } from '../config/schema.js';
import {
  GLOBAL_VARIABLES,
  PROCESSLIST_FAMILY,
  VERSION_VARIABLES,
  globalStatusSamples,
  globalVariablesSamples,
  processlistSamples,
  type MysqlSample,
  type NameValueRow,
  type ProcesslistRow,
} from './mysql-status.js';
import type { SampleSink } from './types.js';

/** mysqld_exporter's scraper names (`collector` label of each statement's success and duration). */
export type MysqlScraper = 'global_status' | 'global_variables' | 'info_schema.processlist';

/** What a scraper writes through and reports to (a collector run of the engine). */
export interface ScraperRun {
  readonly sink: SampleSink;
  /** Stops the scraper's clock. */
  end(): void;
}

/** `mysql_up`'s declaration. */
export const MYSQL_UP = { family: 'mysql_up', type: 'gauge', help: 'Whether the MySQL server answered the last collection: 1 when it connected and SHOW GLOBAL STATUS succeeded, else 0.' } as const;

/** Grouped server threads; the exporter's own connection is left out, as in mysqld_exporter. */
export const PROCESSLIST_SQL = `SELECT COALESCE(command, '') AS command, COALESCE(state, '') AS state, COUNT(*) AS threads
FROM information_schema.processlist
WHERE id != CONNECTION_ID()
GROUP BY command, state`;

/** Counts from the last collection, for the monitor API. `null` when unknown (server down, variable absent). */
export interface MysqlSummary {
  /** `mysql_up` of the last collection; false before the first. */
  up: boolean;
  /** Threads_connected (current client connections). */
  threadsConnected: number | null;
  /** Connections: connection attempts since server start (a counter). */
  connections: number | null;
  /** max_connections (SHOW GLOBAL VARIABLES). */
  maxConnections: number | null;
  /** Slow_queries: queries slower than long_query_time since start (a counter). */
  slowQueries: number | null;
  /** Threads_running (threads not sleeping). */
  threadsRunning: number | null;
}

const DOWN: MysqlSummary = { up: false, threadsConnected: null, connections: null, maxConnections: null, slowQueries: null, threadsRunning: null };

/**
 * The summary for a collection whose `mysql_up` was `up`, reading each count
 * by its family name (mysqld_exporter's: `mysql_global_status_threads_connected`…).
 * All counts are `null` when MySQL was down or a family is absent.
 * @param value the value of a family's only sample, or undefined/null when absent
 */
export function mysqlSummary(up: boolean, value: (family: string) => number | null | undefined): MysqlSummary {
  if (!up) return { ...DOWN };
  const v = (family: string): number | null => value(family) ?? null;
  return {
    up: true,
    threadsConnected: v('mysql_global_status_threads_connected'),
    connections: v('mysql_global_status_connections'),
    maxConnections: v('mysql_global_variables_max_connections'),
    slowQueries: v('mysql_global_status_slow_queries'),
    threadsRunning: v('mysql_global_status_threads_running'),
  };
}

/** Prefixes of the families {@link mysqlSummary} reads, as `globalStatusSamples` / `globalVariablesSamples` name them. */
const STATUS_PREFIX = 'mysql_global_status_';
const VARIABLES_PREFIX = 'mysql_global_variables_';

/** Connection settings taken from `mysql.url` (+ `mysql.password`). */
export interface MysqlTarget {
  host: string;
  /** TCP port; 3306 when the URL has none. */
  port: number;
  user: string;
  password: string;
  /** Default database, or undefined (none is needed: everything read is global). */
  database: string | undefined;
}

/**
 * Reads `mysql://user:password@host:port/db` (user and password URL-decoded).
 * `cfg.password`, when set, replaces the URL's password. Query parameters are ignored.
 * @throws Error (never containing the password) when the URL cannot be parsed.
 */
export function parseMysqlTarget(cfg: Pick<MysqlConfig, 'url' | 'password'>): MysqlTarget {
  let u: URL;
  try {
    u = new URL(cfg.url);
  } catch {
    throw new Error(`invalid mysql.url ${redactUrl(cfg.url)}`);
  }
  if (u.protocol !== 'mysql:') throw new Error(`mysql.url must start with mysql:// (got ${redactUrl(cfg.url)})`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: unbracket(u.hostname) || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: cfg.password !== undefined && cfg.password !== '' ? cfg.password : decodeURIComponent(u.password),
    database: database || undefined,
  };
}

/** A mysql2 error's code and message; AggregateError (several addresses tried) flattened. */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message || (typeof code === 'string' ? code : err.name);
    return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(err);
}

/** True when the error leaves the connection unusable (lost, timed out) rather than one statement failed. */
function isConnectionError(err: unknown): boolean {
  const e = err as { fatal?: unknown; code?: unknown };
  return e?.fatal === true || e?.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || err instanceof DeadlineError;
}

class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/**
 * Races `work` against the absolute deadline. When the deadline wins,
 * `onLate` receives the value if it arrives later (to release a connection).
 * @throws DeadlineError at the deadline; whatever `work` rejects with before it.
 */
function beforeDeadline<T>(work: Promise<T>, deadlineMs: number, what: string, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new DeadlineError(`${what}: no answer before the scrape deadline`));
    }, Math.max(0, deadlineMs - Date.now()));
    work.then(
      (value) => {
        clearTimeout(timer);
        if (late) onLate?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}

/**
 * Reads MySQL / MariaDB server metrics at scrape time (modelled on
 * prometheus/mysqld_exporter's global_status, global_variables and
 * info_schema.processlist scrapers).
 *
 * Families: `mysql_up`; `mysql_global_status_*` (see `globalStatusSamples`);
 * `mysql_global_variables_*` (see `GLOBAL_VARIABLES`); `mysql_version_info`;
 * `mysql_info_schema_processlist_threads{command,state}` when `processlist` is on.
 * Every family is `declare`d on the sink before its first `add`.
 */
export class MysqlCollector {
  private readonly pool: mysql.Pool;
  private readonly target: string;
  private readonly secrets: string[];
  private readonly skippedLogged = new SeenOnce();
  private last: MysqlSummary = DOWN;
  private closed = false;

  /**
   * Creates the pool (no connection is made until the first `collect`).
   * @param cfg `mysql:` block; `timeout` (ms) bounds connecting and each query.
   * @throws Error when `cfg.url` cannot be parsed (message without the password).
   */
  constructor(
    private readonly cfg: MysqlConfig,
    private readonly log: Logger,
  ) {
    const t = parseMysqlTarget(cfg);
    this.target = redactUrl(cfg.url);
    // Error texts from the driver never carry the password, but scrub it anyway.
    this.secrets = [t.password, cfg.password ?? ''].filter((s) => s.length >= 3);
    // Loaded when MySQL is configured: a sidecar without it never pays the driver's memory.
    const driver = createRequire(import.meta.url)('mysql2/promise') as typeof mysql;
    this.pool = driver.createPool({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      ...(t.database ? { database: t.database } : {}),
      connectionLimit: 2,
      maxIdle: 2,
      idleTimeout: 60_000,
      // Scrapes waiting on a hung server must not pile up without bound.
      queueLimit: 8,
      connectTimeout: cfg.timeout,
      enableKeepAlive: true,
    });
  }

  /** Counts from the last finished collection (all `null` and `up: false` when it failed or none ran yet). */
  summary(): MysqlSummary {
    return { ...this.last };
  }

  /**
   * Runs one collection. Never throws and resolves by `deadlineMs`: an
   * unreachable server gives `mysql_up 0` plus `sink.fail(…)`; a failing
   * statement (e.g. processlist without PROCESS) fails its scraper and the
   * rest are still read.
   *
   * The three statements are mysqld_exporter's scrapers `global_status`,
   * `global_variables` and `info_schema.processlist`; each gets its own
   * timeout (`mysql.timeout`, within the deadline) and, when `scraper` is
   * given, its own run (success and duration). `mysql_up` and the connection
   * are `sink`'s.
   * @param deadlineMs absolute unix time in milliseconds by which to give up.
   * @param scraper the run of one scraper by name; default: everything goes to `sink`
   */
  async collect(sink: SampleSink, deadlineMs: number, scraper?: (name: MysqlScraper) => ScraperRun): Promise<void> {
    sink.declare(MYSQL_UP.family, MYSQL_UP.type, MYSQL_UP.help);
    if (this.closed) {
      this.last = DOWN;
      sink.fail('MySQL collector is closed');
      sink.add(MYSQL_UP.family, {}, 0);
      return;
    }
    let conn: mysql.PoolConnection;
    try {
      conn = await beforeDeadline(this.pool.getConnection(), deadlineMs, 'connecting', (late) => late.release());
    } catch (err) {
      this.last = DOWN;
      sink.fail(this.scrub(`couldn't connect to MySQL at ${this.target}: ${describeError(err)}`));
      sink.add(MYSQL_UP.family, {}, 0);
      return;
    }

    let broken = false;
    const runOf = (name: MysqlScraper): ScraperRun => scraper?.(name) ?? { sink, end: () => undefined };
    /** Runs one scraper's statement; undefined (and the scraper failed) when it could not be read. */
    const run = async <T>(out: SampleSink, what: string, sql: string, values?: unknown[], rowsAsArray = false): Promise<T | undefined> => {
      if (broken) return undefined;
      const left = deadlineMs - Date.now();
      if (left <= 0) {
        out.fail(`couldn't read ${what} from ${this.target}: scrape deadline passed`);
        return undefined;
      }
      try {
        const query = conn.query({ sql, rowsAsArray, timeout: Math.max(1, Math.min(this.cfg.timeout, left)) }, values);
        const [rows] = await beforeDeadline(query, deadlineMs, what);
        return rows as T;
      } catch (err) {
        if (isConnectionError(err)) broken = true;
        out.fail(this.scrub(`couldn't read ${what} from ${this.target}: ${describeError(err)}`));
        return undefined;
      }
    };

    try {
      const gs = runOf('global_status');
      const statusRows = await run<NameValueRow[]>(gs.sink, 'SHOW GLOBAL STATUS', 'SHOW GLOBAL STATUS', undefined, true);
      let up = statusRows !== undefined;
      let status: ReturnType<typeof globalStatusSamples> | undefined;
      if (statusRows) {
        status = globalStatusSamples(statusRows);
        this.emit(gs.sink, status.samples);
        const fresh = status.skipped.filter((n) => this.skippedLogged.first(n));
        if (fresh.length > 0) {
          this.log.debug({ collector: 'mysql', statusVariables: fresh }, 'SHOW GLOBAL STATUS rows left out: no promtool-clean metric name');
        }
      }
      gs.end();

      let variables: ReturnType<typeof globalVariablesSamples> | undefined;
      if (up) {
        const gv = runOf('global_variables');
        const names = [...Object.keys(GLOBAL_VARIABLES), ...VERSION_VARIABLES];
        const sql = `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`;
        const variableRows = await run<NameValueRow[]>(gv.sink, 'SHOW GLOBAL VARIABLES', sql, names, true);
        if (variableRows) {
          variables = globalVariablesSamples(variableRows);
          this.emit(gv.sink, variables.samples);
        }
        gv.end();
      }
      if (up && this.cfg.processlist) {
        const pl = runOf('info_schema.processlist');
        const processRows = await run<ProcesslistRow[]>(pl.sink, 'information_schema.processlist', PROCESSLIST_SQL);
        if (processRows) {
          pl.sink.declare(PROCESSLIST_FAMILY.family, PROCESSLIST_FAMILY.type, PROCESSLIST_FAMILY.help);
          this.emit(pl.sink, processlistSamples(processRows));
        }
        pl.end();
      }
      // A connection lost half-way means the server is not answering now: the partial read stands, but up says 0.
      if (broken) up = false;
      // With scrapers of their own, the statement's failure is theirs; the connection's run still says the server is down.
      if (!up && scraper) sink.fail(`MySQL at ${this.target} did not answer the collection`);
      sink.add(MYSQL_UP.family, {}, up ? 1 : 0);
      this.last = mysqlSummary(up, (family) =>
        family.startsWith(STATUS_PREFIX) ? status?.values.get(family.slice(STATUS_PREFIX.length)) : variables?.values.get(family.slice(VARIABLES_PREFIX.length)),
      );
    } finally {
      // A timed-out or lost connection may still get a late reply: never hand it to the next scrape.
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /**
   * Ends the pool; later `collect` calls report `mysql_up 0`. Idempotent; never throws.
   * Resolves within about a second: a connection still handshaking with a hung
   * server would hold `pool.end()` until its connect timeout, so it is left to
   * that timeout rather than waited for.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.min(1000, this.cfg.timeout));
    });
    const ended = this.pool.end().then(
      () => 'ended' as const,
      (err: unknown) => {
        this.log.debug({ collector: 'mysql', err: this.scrub(describeError(err)) }, 'closing the MySQL pool failed');
        return 'ended' as const;
      },
    );
    if ((await Promise.race([ended, grace])) === 'timeout') {
      this.log.debug({ collector: 'mysql' }, 'MySQL pool still closing; a pending connection ends at its connect timeout');
    }
    clearTimeout(timer);
  }

  private emit(sink: SampleSink, samples: readonly MysqlSample[]): void {
    const declared = new Set<string>();
    for (const s of samples) {
      if (!declared.has(s.family)) {
        declared.add(s.family);
        sink.declare(s.family, s.type, s.help);
      }
      sink.add(s.family, s.labels, s.value);
    }
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('<secret>');
    return out;
  }
}
