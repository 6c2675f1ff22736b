/**
 * The real frameworks' own processes for the real-framework tests: their
 * client scripts (test/fixtures/real/*, run to completion, one JSON object out)
 * and their workers (long-running, each in its own process group so that a
 * SIGKILL reaches the children too: RQ's work horse, Celery's pool).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** test/fixtures/real, the scripts' folder (also their working directory and PYTHONPATH). */
export const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/real');

/** Debian's interpreters: the `python3` on PATH may be a pyenv without celery/rq. */
export const PYTHON = '/usr/bin/python3';
export const RUBY = '/usr/bin/ruby';

/**
 * Fails with the Debian package to install when an interpreter or library is missing.
 * @throws Error naming the package
 */
export function requireDebian(path: string, debianPackage: string, check?: string[]): void {
  if (!existsSync(path)) throw new Error(`${path} not found: install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`);
  if (check) {
    const r = spawnSync(path, check, { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`${path} ${check.join(' ')} failed: install the Debian package "${debianPackage}"\n${r.stderr}`);
  }
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: FIXTURES, PYTHONDONTWRITEBYTECODE: '1', ...env };
}

/**
 * Runs a framework script to completion and parses the last stdout line as JSON.
 * @throws Error with the script's stderr when it exits non-zero or prints no JSON
 */
export function runJson<T = Record<string, unknown>>(cmd: string, args: string[], env: Record<string, string> = {}): T {
  const r = spawnSync(cmd, args, { cwd: FIXTURES, env: childEnv(env), encoding: 'utf8', timeout: 60_000 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  }
  return JSON.parse(last) as T;
}

/** A framework worker running in its own process group. */
export interface WorkerProcess {
  readonly pid: number;
  /** everything it printed so far */
  readonly output: () => string;
  /** SIGKILLs the whole process group and waits for the leader's exit; idempotent. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`; waits for exit. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<WorkerProcess>();

/** Starts `cmd` detached (own process group), output captured. */
export function startWorker(cmd: string, args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child: ChildProcess = spawn(cmd, args, { cwd: FIXTURES, env: childEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  child.stderr?.on('data', (d) => (out += String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${cmd} did not start`);
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };
  const w: WorkerProcess = {
    pid,
    output: () => out,
    async kill() {
      signalGroup('SIGKILL');
      await exited;
      running.delete(w);
    },
    async stop(graceMs = 10_000) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children that outlived their leader (a pool member) go too.
      signalGroup('SIGKILL');
      running.delete(w);
    },
  };
  running.add(w);
  return w;
}

/** Kills every worker still running (afterAll, also after a failed test). */
export async function killAllWorkers(): Promise<void> {
  await Promise.allSettled([...running].map((w) => w.kill()));
}
