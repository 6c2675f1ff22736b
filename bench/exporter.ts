/**
 * prometheus-redis-exporter (oliver006/redis_exporter; Debian ships 1.45) on
 * the bench's Redis, reading the keys queuescope reads. It is given key
 * *patterns* (`-check-keys` / `-check-streams`, which it resolves with SCAN):
 * shared/spec/testing.md measured that as its fastest mode here
 * (`-check-single-keys` was slower). Flags from `redis_exporter -h` (1.45).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { findBinary, freePort, stopChild, track, waitFor } from './redis.js';

/** A running redis_exporter. */
export interface RunningExporter {
  readonly url: string;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** The installed exporter binary, or undefined. */
export function exporterBinary(): string | undefined {
  return findBinary('prometheus-redis-exporter') ?? findBinary('redis_exporter');
}

/**
 * Starts the exporter against `redis://127.0.0.1:redisPort`.
 * @param keyPatterns SCAN patterns for `-check-keys` (key size/length of every match)
 * @param streamPatterns SCAN patterns for `-check-streams` (stream, group and consumer details)
 * @throws when it does not listen within 15 s
 */
export async function startExporter(bin: string, redisPort: number, keyPatterns: readonly string[], streamPatterns: readonly string[]): Promise<RunningExporter> {
  const port = await freePort();
  const args = [
    '-redis.addr', `redis://127.0.0.1:${redisPort}`,
    '-web.listen-address', `127.0.0.1:${port}`,
    '-redis-only-metrics',
    '-connection-timeout', '120s',
  ];
  if (keyPatterns.length > 0) args.push('-check-keys', keyPatterns.join(','));
  if (streamPatterns.length > 0) args.push('-check-streams', streamPatterns.join(','));
  const proc = track(spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitFor('redis_exporter to listen', async () => {
      if (proc.exitCode !== null) throw new Error(`redis_exporter exited with ${proc.exitCode}: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok;
    }, 15_000, 100);
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
  return { url: `http://127.0.0.1:${port}/metrics`, proc, stop: () => stopChild(proc) };
}
