/**
 * queuescope as Prometheus sees it: a child process running the sidecar's own
 * `buildApp` (src/app.ts: the real /metrics route, compression, auth hooks)
 * on a free loopback port, so its latency and RSS are measured apart from
 * the bench's own process. The child is `sidecar-child.js`; it receives the
 * raw config over IPC and answers its port.
 *
 * With `BENCH_CPU_PROF=1` the child runs under `node --cpu-prof` and writes
 * its profile into test-artifacts/profiles/ when it exits (open it in Chrome
 * DevTools or speedscope).
 *
 * The child runs under the sidecar's heap policy (src/heap-policy.ts), which
 * `sidecar-child.ts` imports first as src/cli.ts does.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envFlag } from './stats.js';
import { stopChild, track } from './redis.js';

/** What the child answers over IPC (see sidecar-child.ts). */
export type SidecarReply = { port: number } | { error: string };

/** A running sidecar child. */
export interface RunningSidecar {
  readonly proc: ChildProcess;
  readonly url: string;
  stop(): Promise<void>;
}

/** The child's entry, beside this file. */
const CHILD = fileURLToPath(new URL('./sidecar-child.js', import.meta.url));

/**
 * Forks the sidecar child and hands it `config` (queuescope.yaml as an object).
 * @param profileDir where `--cpu-prof` writes (only with BENCH_CPU_PROF)
 * @throws when the child does not report a port within 30 s
 */
export async function startSidecar(config: unknown, profileDir?: string): Promise<RunningSidecar> {
  const execArgv = [...process.execArgv];
  if (envFlag('BENCH_CPU_PROF') && profileDir) {
    mkdirSync(profileDir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const proc = track(fork(CHILD, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv }));
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const reply = await new Promise<SidecarReply>((res) => {
    const timer = setTimeout(() => res({ error: 'the sidecar did not start within 30 s' }), 30_000);
    proc.once('message', (m) => {
      clearTimeout(timer);
      res(m as SidecarReply);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      res({ error: `the sidecar exited with ${code}: ${stderr}` });
    });
    proc.send(config as object);
  });
  if ('error' in reply) {
    await stopChild(proc);
    throw new Error(reply.error);
  }
  return { proc, url: `http://127.0.0.1:${reply.port}/metrics`, stop: () => stopChild(proc, 10_000) };
}

/** Default profile folder: `<repo>/test-artifacts/profiles/<name>`. */
export function profileDirFor(root: string, name: string): string {
  return join(root, 'test-artifacts', 'profiles', name);
}
