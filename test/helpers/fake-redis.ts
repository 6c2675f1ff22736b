/**
 * A small fake Redis speaking RESP2 on a free loopback port, for the replies
 * a real redis-server will not give on demand: `-LOADING`, `-BUSY`, a giant
 * bulk length, a socket that never answers. Requests are parsed with a plain
 * RESP reader (arrays of bulk strings); the test's `answer` decides what each
 * command gets back.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** What the fake does with one command: bytes to write, say nothing, or hang up. */
export type FakeAnswer = Buffer | string | 'silent' | 'close';

export interface FakeRedis {
  readonly port: number;
  readonly url: string;
  /** Every command received, in order, as strings (`['PING']`, `['LLEN', 'q']`). */
  readonly commands: string[][];
  /** Connections accepted so far. */
  accepts: number;
  /** Replaces the answering function. */
  answer: (command: string[]) => FakeAnswer;
  /** Closes the server and every socket. */
  stop(): Promise<void>;
}

/** RESP helpers for answers. */
export const resp = {
  simple: (s: string): string => `+${s}\r\n`,
  error: (s: string): string => `-${s}\r\n`,
  int: (n: number): string => `:${n}\r\n`,
  bulk: (s: string | null): string => (s === null ? '$-1\r\n' : `$${Buffer.byteLength(s)}\r\n${s}\r\n`),
  array: (items: string[]): string => `*${items.length}\r\n${items.join('')}`,
};

/** The usual handshake and PING answers; anything else gets `fallback`. */
export function defaultAnswer(command: string[], fallback: FakeAnswer = resp.error('ERR unknown command')): FakeAnswer {
  const name = command[0]?.toUpperCase();
  if (name === 'PING') return resp.simple('PONG');
  if (name === 'CLIENT' || name === 'SELECT' || name === 'AUTH') return resp.simple('OK');
  return fallback;
}

/** Parses complete RESP arrays of bulk strings from `buf`; returns them and the bytes consumed. */
function parseRequests(buf: Buffer): { commands: string[][]; used: number } {
  const commands: string[][] = [];
  let pos = 0;
  outer: while (pos < buf.length) {
    const start = pos;
    if (buf[pos] !== 42) throw new Error('fake redis: expected an array');
    let eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const n = Number(buf.toString('latin1', pos + 1, eol));
    pos = eol + 2;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      eol = buf.indexOf('\r\n', pos);
      if (eol < 0) {
        pos = start;
        break outer;
      }
      const len = Number(buf.toString('latin1', pos + 1, eol));
      if (eol + 2 + len + 2 > buf.length) {
        pos = start;
        break outer;
      }
      args.push(buf.toString('latin1', eol + 2, eol + 2 + len));
      pos = eol + 2 + len + 2;
    }
    commands.push(args);
  }
  return { commands, used: pos };
}

/** Starts a fake Redis on 127.0.0.1 (free port). */
export async function startFakeRedis(answer: (command: string[]) => FakeAnswer = (c) => defaultAnswer(c)): Promise<FakeRedis> {
  const sockets = new Set<Socket>();
  const fake: FakeRedis = {
    port: 0,
    url: '',
    commands: [],
    accepts: 0,
    answer,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((socket) => {
    fake.accepts++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const { commands, used } = parseRequests(pending);
      pending = pending.subarray(used);
      // The answers to one read go out as one write, as Redis writes a pipeline's replies.
      socket.cork();
      process.nextTick(() => socket.uncork());
      for (const c of commands) {
        fake.commands.push(c);
        const a = fake.answer(c);
        if (a === 'silent') continue;
        if (a === 'close') {
          socket.destroy();
          return;
        }
        socket.write(a);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  Object.assign(fake, { port, url: `redis://127.0.0.1:${port}/0` });
  return fake;
}
