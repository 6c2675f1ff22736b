/**
 * A TCP proxy that delays every chunk by `delayMs` in each direction,
 * preserving order, to put a realistic network distance (1 ms each way = 2 ms
 * RTT) between an exporter and Redis; kernel netem is not available on these
 * machines. It delays, it does not throttle: chunks in flight overlap, so a
 * pipelined batch pays the delay once while a request/response client pays it
 * per command — which is exactly what the benchmark is about.
 *
 * It also counts "turns": client->server chunks that follow server->client
 * traffic on the same connection. For a strict request/response client that is
 * its number of round trips; for a pipelining one it is close to its number of
 * batches (a large pipeline whose replies start before it is fully written can
 * add a few, and queuescope's follow-ups go out as several writes while the
 * first batch's replies arrive: src/collect/follow-ups.ts).
 *
 * Chunks are released by a timer thread (precise-timer.ts), not by spinning
 * the event loop: the proxy shares the machine's cores with what it measures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { clockMs, PreciseTimer, WAKE_AHEAD_MS } from './precise-timer.js';

export interface DelayProxy {
  readonly port: number;
  /** Request turns seen so far (see the module comment). */
  readonly turns: number;
  /** Bytes forwarded client->server and server->client. */
  readonly bytes: { readonly up: number; readonly down: number };
  close(): Promise<void>;
}

/**
 * Wakes the pipes whose head chunk falls due, from one {@link PreciseTimer}
 * armed for the earliest of them (a pipe that is still early asks again).
 */
class Wakeups {
  // Started with the proxy, so the worker's start-up is not in the first chunks' delay.
  private readonly timer = new PreciseTimer();
  private readonly waiting = new Set<DelayedPipe>();
  private armed = Infinity;
  private readonly fire = (): void => {
    this.armed = Infinity;
    const due = [...this.waiting];
    this.waiting.clear();
    for (const pipe of due) pipe.flush();
  };

  /** Calls `pipe.flush()` once the clock reaches `dueMs` ({@link clockMs}). */
  wake(pipe: DelayedPipe, dueMs: number): void {
    this.waiting.add(pipe);
    if (dueMs >= this.armed) return;
    this.armed = dueMs;
    this.timer.at(dueMs, this.fire);
  }

  close(): void {
    void this.timer.close();
  }
}

/** One direction of one connection: a FIFO of chunks released at their due time. */
class DelayedPipe {
  private readonly queue: { due: number; data: Buffer }[] = [];
  private scheduled = false;

  constructor(
    private readonly to: Socket,
    private readonly delayMs: number,
    private readonly wakeups: Wakeups,
  ) {}

  push(data: Buffer): void {
    this.queue.push({ due: clockMs() + this.delayMs, data });
    if (!this.scheduled) this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head) {
      this.scheduled = false;
      return;
    }
    this.scheduled = true;
    // Not setTimeout (millisecond-granular, from the loop's cached clock) finished by
    // setImmediate: that spins the loop and burnt ~20 ms of CPU per reference scrape.
    if (head.due > clockMs() + WAKE_AHEAD_MS) this.wakeups.wake(this, head.due);
    else this.flush();
  }

  /** Writes the chunks that are due (or within the timer's wake-ahead of it), then waits for the next. */
  flush(): void {
    const now = clockMs() + WAKE_AHEAD_MS;
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const { data } = this.queue.shift()!;
      if (!this.to.destroyed) this.to.write(data);
    }
    this.scheduled = false;
    this.schedule();
  }
}

/**
 * Listens on a free 127.0.0.1 port and forwards to `targetPort` on 127.0.0.1.
 * @param delayMs delay of every chunk in each direction (1 = 2 ms RTT)
 */
export function startDelayProxy(targetPort: number, delayMs = 1): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const wakeups = new Wakeups();
  let turns = 0;
  const bytes = { up: 0, down: 0 };
  const server: Server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const up = new DelayedPipe(upstream, delayMs, wakeups);
    const down = new DelayedPipe(client, delayMs, wakeups);
    let lastUp = false;
    client.on('data', (d: Buffer) => {
      if (!lastUp) turns++;
      lastUp = true;
      bytes.up += d.length;
      up.push(d);
    });
    upstream.on('data', (d: Buffer) => {
      lastUp = false;
      bytes.down += d.length;
      down.push(d);
    });
    const closeBoth = () => {
      // Let chunks still in flight go out first (they are due within delayMs).
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, delayMs + 5);
    };
    client.on('close', () => {
      sockets.delete(client);
      closeBoth();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      closeBoth();
    });
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        get turns() {
          return turns;
        },
        bytes,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            wakeups.close();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A delay proxy in its own process (so its event loop competes with nothing it measures). */
export interface RemoteDelayProxy {
  readonly port: number;
  /** The proxy process (its CPU time is read per scrape: it shares the cores with what it measures). */
  readonly pid: number;
  /** Request turns seen so far (asks the child). */
  turns(): Promise<number>;
  close(): Promise<void>;
}

type ProxyMessage = { port: number } | { turns: number; id: number } | { error: string };

/**
 * Runs {@link startDelayProxy} in a child process: `script` is a module that
 * calls {@link proxyChildMain} when started with `--delay-proxy` (bench/run.ts).
 */
export async function startRemoteDelayProxy(script: string, targetPort: number, delayMs: number, track: (p: ChildProcess) => void): Promise<RemoteDelayProxy> {
  const proc = fork(script, ['--delay-proxy', String(targetPort), String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  track(proc);
  const pending = new Map<number, (n: number) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the delay proxy did not start within 10 s')), 10_000);
    proc.on('message', (m: ProxyMessage) => {
      if ('port' in m) {
        clearTimeout(timer);
        resolve(m.port);
      } else if ('turns' in m) {
        pending.get(m.id)?.(m.turns);
        pending.delete(m.id);
      } else {
        clearTimeout(timer);
        reject(new Error(m.error));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the delay proxy exited with ${code}`));
    });
  });
  return {
    port,
    pid: proc.pid ?? 0,
    turns: () =>
      new Promise<number>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error('the delay proxy did not answer')), 5000);
        pending.set(id, (n) => {
          clearTimeout(timer);
          resolve(n);
        });
        proc.send({ turns: id });
      }),
    close: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    },
  };
}

/** The child side of {@link startRemoteDelayProxy}. */
export async function proxyChildMain(targetPort: number, delayMs: number): Promise<void> {
  process.on('disconnect', () => process.exit(0));
  try {
    const proxy = await startDelayProxy(targetPort, delayMs);
    process.on('message', (m: { turns: number }) => process.send?.({ turns: proxy.turns, id: m.turns }));
    process.send?.({ port: proxy.port });
  } catch (err) {
    process.send?.({ error: (err as Error).message });
    process.exit(1);
  }
}
