/**
 * The exam consumer's MySQL side: real INSERTs through mysql2, a periodic
 * cleanup that keeps the table bounded, and a teacher's "report" query that
 * MySQL counts as slow (so the MySQL board's slow-query panel has data).
 */
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { unbracket } from '../host-port.js';
import { MYSQL_DEFAULT_DATABASE, MYSQL_TABLE } from './keys.js';

/** One scored exam row. `createdAtS` is the task's enqueue time in unix seconds. */
export interface ScoreRow {
  taskId: string;
  examId: number;
  userId: number;
  score: number;
  createdAtS: number;
}

/** The MySQL sink of the exam consumer. */
export interface ScoreStore {
  /** INSERTs one row. Throws the driver's error (the task then counts as failed). */
  insert(row: ScoreRow): Promise<void>;
  /** Deletes rows older than the newest `keep`; runs the slow report query. Never throws (logs). */
  housekeeping(keep: number): Promise<void>;
  close(): Promise<void>;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${MYSQL_TABLE} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  task_id VARCHAR(64) NOT NULL,
  exam_id INT UNSIGNED NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  score SMALLINT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL,
  scored_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY idx_exam (exam_id)
) ENGINE=InnoDB`;

/** Connection settings out of a `mysql://user:pass@host:port/db` URL (password never logged). */
export function mysqlConnectionOptions(url: string): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || MYSQL_DEFAULT_DATABASE;
  return {
    host: unbracket(u.hostname),
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
  };
}


/**
 * Connects, creates the database (when the URL names none and the user may)
 * and the table when missing.
 * @throws when MySQL is unreachable or the table cannot be created; the message names host and database, never the password.
 */
export async function openScoreStore(url: string, log: Logger): Promise<ScoreStore> {
  const opts = mysqlConnectionOptions(url);
  const where = redactUrl(url);
  try {
    const setup = await mysql.createConnection({ host: opts.host, port: opts.port, user: opts.user, password: opts.password, connectTimeout: 10_000 });
    try {
      await setup.query(`CREATE DATABASE IF NOT EXISTS \`${opts.database.replace(/`/g, '``')}\``).catch(() => {
        // No CREATE privilege: the database must already exist (the next statement says so if not).
      });
      await setup.query(`USE \`${opts.database.replace(/`/g, '``')}\``);
      await setup.query(CREATE_TABLE);
    } finally {
      await setup.end();
    }
  } catch (err) {
    throw new Error(`couldn't prepare MySQL table ${MYSQL_TABLE} at ${where}: ${(err as Error).message}`);
  }
  const pool = mysql.createPool({ ...opts, connectionLimit: 6, connectTimeout: 10_000, enableKeepAlive: true });
  // The report runs on its own connection with long_query_time 0, so every report counts in Slow_queries
  // (the counter increments whether or not the slow query log is on).
  let reporter: mysql.Connection | undefined;
  log.info({ mysql: where, table: MYSQL_TABLE }, 'demo: MySQL INSERTs on');

  return {
    async insert(row) {
      await pool.execute(`INSERT INTO ${MYSQL_TABLE} (task_id, exam_id, user_id, score, created_at) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))`, [
        row.taskId,
        row.examId,
        row.userId,
        row.score,
        row.createdAtS,
      ]);
    },
    async housekeeping(keep) {
      try {
        const [rows] = await pool.query(`SELECT MAX(id) AS maxId FROM ${MYSQL_TABLE}`);
        const maxId = Number((rows as { maxId: number | string | null }[])[0]?.maxId ?? 0);
        if (maxId > keep) await pool.query(`DELETE FROM ${MYSQL_TABLE} WHERE id <= ? LIMIT 50000`, [maxId - keep]);
        if (!reporter) {
          reporter = await mysql.createConnection({ ...opts, connectTimeout: 10_000 });
          await reporter.query('SET SESSION long_query_time = 0');
        }
        await reporter.query(`SELECT exam_id, COUNT(*) AS candidates, AVG(score) AS avg_score, MAX(score) AS top_score FROM ${MYSQL_TABLE} GROUP BY exam_id ORDER BY avg_score DESC`);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'demo: MySQL housekeeping failed');
        const r = reporter;
        reporter = undefined;
        await r?.end().catch(() => undefined);
      }
    },
    async close() {
      await reporter?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
