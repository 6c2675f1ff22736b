/**
 * The benchmark's private redis-server: a free 127.0.0.1 port, no persistence,
 * stopped at the end (also on error: every child the bench starts is in
 * {@link children}, killed by the exit handlers in run.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
// One implementation of these for tests and bench.
import { freePort, waitFor } from '../test/helpers/ports.js';

export { freePort, waitFor };

/** Every child process the bench started and has not seen exit. */
export const children = new Set<ChildProcess>();

/** Tracks `proc` until it exits. */
export function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** SIGKILLs every tracked child (synchronous: safe in an 'exit' handler). */
export function killAllChildren(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Stops one child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(proc: ChildProcess, graceMs = 2000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Absolute path of `name` on PATH or in the sbin folders, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  return undefined;
}


export interface BenchRedis {
  readonly port: number;
  readonly pid: number;
  /** Admin client (loading, INFO deltas); never the measured one. */
  readonly client: Redis;
  stop(): Promise<void>;
}

/**
 * Starts redis-server on a free 127.0.0.1 port.
 * @throws when redis-server is missing or does not answer PING within 10 s.
 */
export async function startRedis(): Promise<BenchRedis> {
  const bin = findBinary('redis-server');
  if (!bin) throw new Error('redis-server not found: apt-get install redis-server');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'qs-bench-redis-'));
  const proc = track(
    spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      stdio: 'ignore',
    }),
  );
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  const stop = async (): Promise<void> => {
    client.disconnect();
    await stopChild(proc, 1000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (client.status !== 'ready') {
        client.disconnect();
        await client.connect();
      }
      return (await client.ping()) === 'PONG';
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, pid: proc.pid ?? 0, client, stop };
}

/** Per-command call counts from `INFO commandstats` (e.g. `{ llen: 1000, 'xinfo|stream': 300 }`). */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const text = await client.info('commandstats');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * Commands Redis executed between two {@link commandStats} snapshots, minus
 * the one INFO the admin client's second snapshot adds (its own INFO is not
 * in its reply; the first snapshot's is).
 */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    let d = calls - (before.get(name) ?? 0);
    if (name === 'info') d -= 1;
    if (d > 0) {
      byCommand[name] = d;
      total += d;
    }
  }
  return { total, byCommand };
}

/**
 * CPU time a process has run so far, ms: the sum over its threads of the
 * first field of `/proc/<pid>/task/<tid>/schedstat` (time on a CPU, ns;
 * Linux, user and kernel time, nanosecond resolution, where `/proc/<pid>/stat`
 * counts in 10 ms ticks). Undefined off Linux or once the process is gone.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM (peak) of a process, MiB, from /proc; undefined off Linux. */
export function processMemory(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

