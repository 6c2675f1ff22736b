/**
 * A real queuescope sidecar process (the compiled `dist/src/cli.js`), for
 * tests that kill it: `kill -9`, SIGTERM, restart on the same config and
 * store. Output goes to a log file; every process is tracked so a test can
 * stop all it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from '../helpers/ports.js';

export const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

export interface Sidecar {
  readonly port: number;
  readonly base: string;
  readonly pid: number;
  readonly logFile: string;
  /** resolves with the exit code / signal once the process ended */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  log(): string;
  /** `kill -9` */
  kill9(): Promise<void>;
  /** SIGTERM, waits for the exit (SIGKILL after `graceMs`) */
  term(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** one sample of `/metrics` (0 when absent) */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

const running = new Set<ChildProcess>();

/** Writes `yaml` to `<dir>/<name>.yaml` and starts a sidecar on it, on a free port; resolves once `/-/ready` answers. */
export async function startSidecar(dir: string, name: string, yaml: (port: number) => string, port?: number): Promise<Sidecar> {
  const p = port ?? (await freePort());
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, yaml(p));
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
  const child = spawn(process.execPath, [CLI, '--config', config], { cwd: dir, env: clean, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      res({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  const base = `http://127.0.0.1:${p}`;
  const sc: Sidecar = {
    port: p,
    base,
    pid: child.pid ?? -1,
    logFile,
    exited,
    isRunning: () => !done,
    log: () => readFileSync(logFile, 'utf8'),
    async kill9() {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
    async term(graceMs = 20_000) {
      if (!done) {
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(t);
      }
      return exited;
    },
    async metric(metricName, labels = {}) {
      const text = await (await fetch(`${base}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${metricName}{`) && !line.startsWith(`${metricName} `)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
  };
  try {
    await waitFor(`sidecar ${name} ready on ${p}`, async () => {
      if (done) throw new Error(`sidecar ${name} exited: ${sc.log().slice(-2000)}`);
      return (await fetch(`${base}/-/ready`)).ok;
    }, 20_000, 100);
  } catch (err) {
    await sc.kill9();
    throw err;
  }
  return sc;
}

/** SIGKILLs every sidecar still running (afterEach / afterAll). */
export async function stopAllSidecars(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((res) => {
          c.once('exit', () => res());
          c.kill('SIGKILL');
        }),
    ),
  );
}
