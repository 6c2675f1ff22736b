/**
 * A private MariaDB for one test file: `mariadb-install-db` into a temp
 * datadir, then `mariadbd` on a free 127.0.0.1 port with its own socket, pid
 * file and tmpdir, with real authentication (no `--skip-grant-tables`).
 *
 * Setup creates the user `exporter` (random password, `PROCESS, REPLICATION
 * CLIENT, SELECT` on `*.*` — what queuescope's docs ask operators to grant)
 * and the database `queuescope_test`.
 *
 * When a private server cannot be started (install or launch fails), it falls
 * back to the machine's running server (127.0.0.1:3306, root, empty password)
 * with a per-run user and database; `private` is then false and `kill()`,
 * `freeze()`, `thaw()` and `restart()` throw, because a test must never stop a server it does not own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findBinary } from './binaries.js';
import { freePort, waitFor } from './ports.js';

export interface MariadbServer {
  /** false when this is the machine's shared server (fallback); kill/restart are then refused. */
  readonly private: boolean;
  readonly port: number;
  /** `mysql://exporter:<pw>@127.0.0.1:<port>/` — the least-privileged user the collector should use. */
  readonly url: string;
  /** The `exporter` user's password (as in `url`, unencoded). */
  readonly password: string;
  /** `mysql://root@127.0.0.1:<port>/` (empty root password). */
  readonly rootUrl: string;
  /** The test database (`queuescope_test`, or `queuescope_test_<hex>` on the shared server). */
  readonly database: string;
  /** Runs SQL as root (for setup and independent checks); returns the rows. */
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  /** SIGKILLs mariadbd (the port and datadir stay for `restart()`). */
  kill(): Promise<void>;
  /** SIGSTOPs mariadbd: connections stay open but nothing answers (a hung server). */
  freeze(): Promise<void>;
  /** SIGCONTs a frozen mariadbd. */
  thaw(): Promise<void>;
  /** Starts mariadbd again on the same port and datadir (InnoDB crash recovery runs). */
  restart(): Promise<void>;
  /** Stops the server, the root pool, and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

/**
 * Resolves once every thread of `pid` shows state `T` in /proc/<pid>/task/<tid>/stat.
 * kill(SIGSTOP) only queues the group stop: a thread that is running on another core
 * may still answer a query before it parks, which made "the server hangs" tests flaky.
 * Gives up silently after 2 s (or without /proc) — the caller's assertions then decide.
 */
async function allThreadsStopped(pid: number): Promise<void> {
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    const running = tids.some((tid) => {
      try {
        // The state follows the parenthesised command name, which may itself contain spaces.
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const state = stat[stat.lastIndexOf(')') + 2];
        return state !== 'T' && state !== 't';
      } catch {
        return false; // the thread exited
      }
    });
    if (!running) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Starts a private MariaDB (see the module comment).
 * @throws when neither a private server nor the shared fallback is usable; the
 *   message carries the private attempt's error and the tail of its error log.
 */
export async function startMariadb(): Promise<MariadbServer> {
  try {
    return await startPrivate();
  } catch (privateErr) {
    try {
      return await useSharedServer();
    } catch (sharedErr) {
      throw new Error(`could not start a private MariaDB (${String(privateErr)}) nor use the one on 127.0.0.1:3306 (${String(sharedErr)})`);
    }
  }
}

async function startPrivate(): Promise<MariadbServer> {
  const mariadbd = findBinary('mariadbd', 'mariadb-server');
  const installDb = findBinary('mariadb-install-db', 'mariadb-server');
  const port = await freePort();
  // Short base path: the unix socket path must stay under 108 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'qs-mariadb-'));
  const datadir = join(dir, 'data');
  const tmp = join(dir, 'tmp');
  const errorLog = join(dir, 'error.log');
  mkdirSync(tmp);

  const logTail = (): string => {
    try {
      return readFileSync(errorLog, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no error log)';
    }
  };

  // `normal` gives root@localhost/127.0.0.1 an empty password we can log in with over TCP;
  // the default (`socket`) would need unix_socket auth as the OS user.
  const install = spawnSync(
    installDb,
    ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
    { encoding: 'utf8', timeout: START_TIMEOUT_MS },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (status ${install.status}): ${(install.stderr || install.stdout || String(install.error)).slice(-2000)}`);
  }

  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const args = [
    '--no-defaults', // must be first: never read the machine's /etc/mysql config
    '--user=root', // the machine runs as root; mariadbd refuses root without it
    `--datadir=${datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--tmpdir=${tmp}`,
    `--log-error=${errorLog}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--max-connections=60',
  ];

  const launch = async (): Promise<void> => {
    const child = spawn(mariadbd, args, { stdio: 'ignore' });
    proc = child;
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    const probe = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 1, connectTimeout: 1000 });
    try {
      await waitFor(
        `mariadbd on port ${port}`,
        async () => {
          if (spawnError) throw spawnError;
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}); error log:\n${logTail()}`);
          }
          await probe.query('SELECT 1');
          return true;
        },
        START_TIMEOUT_MS,
        100,
      );
    } catch (err) {
      await killProc();
      throw new Error(`${String(err)}\nerror log:\n${logTail()}`);
    } finally {
      await probe.end().catch(() => undefined);
    }
  };

  const killProc = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await exited;
  };
  // A crashed test process must not leave a mariadbd behind.
  const onExit = (): void => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    await launch();
  } catch (err) {
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const password = `pw-${randomBytes(6).toString('hex')}#/@`; // URL-reserved characters on purpose
  const rootUrl = `mysql://root@127.0.0.1:${port}/`;
  let root = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 2 });
  try {
    await root.query(`CREATE USER 'exporter'@'%' IDENTIFIED BY ?`, [password]);
    await root.query(`GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'%'`);
    await root.query('CREATE DATABASE queuescope_test');
  } catch (err) {
    await root.end().catch(() => undefined);
    await killProc();
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped = false;
  return {
    private: true,
    port,
    url: `mysql://exporter:${encodeURIComponent(password)}@127.0.0.1:${port}/`,
    password,
    rootUrl,
    database: 'queuescope_test',
    async query<T>(sql: string, values?: unknown[]): Promise<T[]> {
      const [rows] = await root.query(sql, values);
      return rows as T[];
    },
    kill: killProc,
    async freeze() {
      if (!proc?.pid) return;
      proc.kill('SIGSTOP');
      await allThreadsStopped(proc.pid);
    },
    thaw: async () => void proc?.kill('SIGCONT'),
    async restart() {
      await killProc();
      // The old pool's sockets died with the server; start clean rather than trip over them.
      await root.end().catch(() => undefined);
      await launch();
      root = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 2 });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await root.end().catch(() => undefined);
      await killProc();
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fallback: the machine's own server, with a per-run user and database that stop() drops. */
async function useSharedServer(): Promise<MariadbServer> {
  const port = 3306;
  const suffix = randomBytes(4).toString('hex');
  const user = `exporter_${suffix}`;
  const database = `queuescope_test_${suffix}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const root = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 2, connectTimeout: 2000 });
  try {
    await root.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
    await root.query(`GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO ?@'%'`, [user]);
    await root.query(`CREATE DATABASE \`${database}\``);
  } catch (err) {
    await root.end().catch(() => undefined);
    throw err;
  }
  const refuse = (): Promise<void> =>
    Promise.reject(new Error('using the machine\'s shared MariaDB (a private one could not start): kill/freeze/restart are not allowed'));
  let stopped = false;
  return {
    private: false,
    port,
    url: `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/`,
    password,
    rootUrl: `mysql://root@127.0.0.1:${port}/`,
    database,
    async query<T>(sql: string, values?: unknown[]): Promise<T[]> {
      const [rows] = await root.query(sql, values);
      return rows as T[];
    },
    kill: refuse,
    freeze: refuse,
    thaw: refuse,
    restart: refuse,
    async stop() {
      if (stopped) return;
      stopped = true;
      await root.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
      await root.query(`DROP USER IF EXISTS ?@'%'`, [user]).catch(() => undefined);
      await root.end().catch(() => undefined);
    },
  };
}
