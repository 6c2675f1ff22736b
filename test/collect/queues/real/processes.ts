/**
 * The real frameworks' own processes for the real-framework tests: their
 * client scripts (test/fixtures/real/*, run to completion, one JSON object out)
 * and their workers (long-running, each in its own process group so that a
 * SIGKILL reaches the children too: Celery's pool). RQ's work horse leaves
 * the group (`os.setsid()` in `Worker.fork_work_horse`), so every descendant
 * found in /proc is killed as well.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** Every live descendant of `pid` (Linux /proc: each process's PPid). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (m) parent.set(Number(entry), Number(m[1]));
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    for (const [child, pp] of parent) if (pp === p) (out.push(child), todo.push(child));
  }
  return out;
}

/** Pids of live processes whose command line contains `text` (to prove a kill reached every child). */
export function processesMatching(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmd.includes(text) && state !== 'Z') out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
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
  let family: number[] = [];
  const signalGroup = (sig: NodeJS.Signals) => {
    // Children that left the group (RQ's work horse calls setsid) are found before the signal.
    family = [...new Set([...family, ...descendants(pid)])];
    for (const target of [-pid, ...(sig === 'SIGKILL' ? family : [])]) {
      try {
        process.kill(target, sig);
      } catch {
        // gone already
      }
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
