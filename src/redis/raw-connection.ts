/**
 * A lean connection for scrape batches: the whole batch is written as one
 * RESP2 buffer ({@link encodeCommands}) and the replies are read by a
 * streaming parser ({@link RespParser}) straight into the batch's reply
 * array. One promise and one deadline timer per batch, nothing per command.
 *
 * ioredis stays in use for everything else (SCAN paging, Sentinel, Cluster);
 * this socket only carries batches of read-only commands.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { unbracket } from '../host-port.js';
import type { Command, Reply } from './command.js';
import { failAll, type BatchResult, type ReplyConsumer } from './batch.js';
import { encodeCommands, RespParser, type RespLimits, type RespValue } from './resp.js';

/** Where and how {@link RawRedisConnection} connects. */
export interface RawConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** Database index, sent as `SELECT db` when not 0. */
  readonly db: number;
  /** ACL user (Redis >= 6); `AUTH username password` when set with a password. */
  readonly username?: string;
  /** `AUTH [username] password` is sent when non-empty. */
  readonly password?: string;
  /** TLS (node:tls options) when set, plain TCP otherwise. */
  readonly tls?: ConnectionOptions;
  /** Milliseconds to establish TCP (and TLS) before giving up. */
  readonly connectTimeoutMs: number;
  /** `CLIENT SETNAME` value; defaults to `queuescope`. */
  readonly name?: string;
  /** Caps on reply sizes (`redis.maxBulkBytes`, …); default {@link DEFAULT_RESP_LIMITS}. */
  readonly limits?: Partial<RespLimits>;
}

/** A batch waiting for its replies. */
interface Pending {
  /** Replies kept for the result (empty when streamed to `onReply`). */
  readonly replies: Reply[];
  /** Commands in the batch. */
  readonly n: number;
  /** Replies received so far. */
  got: number;
  /** Streaming consumer: each reply goes here as it is parsed instead of into `replies`. */
  readonly onReply: ReplyConsumer | undefined;
  /** Indexes of HGETALL commands (ioredis turns their reply into an object), if any. */
  readonly hgetall: ReadonlySet<number> | undefined;
  readonly timer: NodeJS.Timeout | undefined;
  readonly done: (result: BatchResult) => void;
}

/** The AUTH/SELECT/SETNAME replies of a fresh connection. */
interface Handshake {
  readonly names: readonly string[];
  got: number;
}

/** Redis answers this to AUTH when no password is configured; ioredis ignores it too. */
const NO_PASSWORD_SET = /no password is set|without any password configured/i;

/** A plain-TCP connection's read buffer (Node's own default read size). */
const READ_BUFFER_BYTES = 64 * 1024;

/** ioredis' HGETALL reply transformer: a flat field/value list becomes an object. */
function hashObject(list: RespValue[]): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < list.length; i += 2) {
    const key = String(list[i]);
    if (key in obj) Object.defineProperty(obj, key, { value: list[i + 1], configurable: true, enumerable: true, writable: true });
    else obj[key] = list[i + 1];
  }
  return obj;
}

/**
 * One socket to one Redis server for scrape batches.
 *
 * - Connects lazily on the first {@link exec} (and again after any failure):
 *   `AUTH [username] password`, `SELECT db`, `CLIENT SETNAME` are written first
 *   and their replies checked; a failed AUTH/SELECT fails the batches with a
 *   message that never contains the password.
 * - Batches are FIFO: several may be in flight; replies are dealt in order.
 * - Each batch has one deadline timer. A missed deadline destroys the socket
 *   (Redis may be stuck; its late replies must not be read as another batch's)
 *   and fails every pending batch; the next exec reconnects.
 * - Connection refused/reset/closed fails the pending batches with `ok:false`;
 *   `exec` never rejects and the socket's 'error' events are always handled.
 */
export class RawRedisConnection {
  private socket: Socket | undefined;
  private handshake: Handshake | undefined;
  private readonly queue: Pending[] = [];
  private readonly parser: RespParser;
  private closed = false;

  constructor(private readonly opts: RawConnectionOptions) {
    this.parser = new RespParser((reply) => this.onReply(reply), opts.limits);
  }

  /** True while a socket is open or opening. */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  /**
   * Sends `commands` (one RESP2 write) and resolves with one `[error, value]`
   * reply per command, in order, as ioredis' pipeline returns them: a Redis
   * error reply (WRONGTYPE…) is `[Error, null]` for that command only and the
   * batch stays `ok: true`. Never rejects: a connection failure or a missed
   * deadline resolves `ok: false` with the reason on every reply.
   * Commands are not checked here; callers pass read-only ones.
   * @param deadlineMs absolute unix milliseconds.
   */
  exec(commands: readonly Command[], deadlineMs: number, onReply?: ReplyConsumer): Promise<BatchResult> {
    let payload: Buffer;
    try {
      payload = encodeCommands(commands);
    } catch (err) {
      return Promise.resolve(failAll(commands.length, (err as Error).message));
    }
    return this.send(commands.length, payload, hgetallIndexes(commands), deadlineMs, onReply);
  }

  /**
   * {@link exec} for a batch encoded already: `n` commands in `payload`.
   * @param hgetall indexes of its HGETALL commands (their replies become objects, as ioredis makes them)
   * @param written called once the payload has left for the socket, or failed to (the caller may
   *   reuse a payload buffer from then on; the batch may have resolved before, at its deadline)
   */
  send(
    n: number,
    payload: Buffer,
    hgetall: ReadonlySet<number> | undefined,
    deadlineMs: number,
    onReply?: ReplyConsumer,
    written?: (err?: Error | null) => void,
  ): Promise<BatchResult> {
    const unsent = (result: BatchResult): Promise<BatchResult> => {
      written?.();
      return Promise.resolve(result);
    };
    if (n === 0) return unsent({ replies: [], roundtrips: 0, ok: true });
    if (this.closed) return unsent(failAll(n, 'redis connection closed'));
    const remaining = deadlineMs - Date.now();
    if (remaining <= 0) return unsent(failAll(n, 'scrape deadline passed before the batch was sent'));
    return new Promise<BatchResult>((resolve) => {
      const socket = this.socket ?? this.open();
      const entry: Pending = {
        replies: onReply ? [] : new Array<Reply>(n),
        n,
        got: 0,
        onReply,
        hgetall,
        timer: setTimeout(() => this.drop('scrape deadline passed waiting for redis'), remaining),
        done: resolve,
      };
      this.queue.push(entry);
      socket.write(payload, written);
    });
  }

  /** Closes the socket; pending batches fail, later {@link exec} calls answer `ok: false`. */
  async close(): Promise<void> {
    this.closed = true;
    this.drop('redis connection closed');
  }

  private open(): Socket {
    const { host, port, tls, connectTimeoutMs } = this.opts;
    // Plain TCP reads into one buffer per connection (`onread`), so the replies of a
    // 10,000-queue batch do not leave a 64 KiB ArrayBuffer of garbage per read for the
    // next full GC (issue 14, peak RSS); the parser copies the little it keeps. TLS
    // sockets have no `onread` and deliver chunks as 'data' events.
    const onChunk = (chunk: Buffer, transient: boolean): void => {
      if (this.socket !== socket) return;
      try {
        this.parser.push(chunk, transient);
      } catch (err) {
        this.drop(`redis protocol error: ${(err as Error).message}`);
      }
    };
    const socket: Socket = tls
      ? tlsConnect({ ...tls, host, port, servername: tls.servername ?? (isIp(host) ? undefined : host) })
      : netConnect({
          host,
          port,
          onread: {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, buf: Uint8Array) => {
              onChunk(Buffer.from(buf.buffer, buf.byteOffset, n), true);
              return true; // false would pause the socket
            },
          },
        });
    this.socket = socket;
    this.parser.reset();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const connectTimer = setTimeout(() => {
      if (this.socket === socket) this.drop(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`);
    }, connectTimeoutMs);
    socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    if (tls) socket.on('data', (chunk: Buffer) => onChunk(chunk, false));
    socket.on('error', (err: Error) => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.drop(err.message);
    });
    socket.on('end', () => {
      if (this.socket === socket) this.drop('redis closed the connection');
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.drop('redis connection closed');
    });
    // Handshake: its replies precede every batch's.
    const hs: Command[] = [];
    const { username, password, db, name } = this.opts;
    if (password) hs.push(username ? ['AUTH', username, password] : ['AUTH', password]);
    if (db !== 0) hs.push(['SELECT', db]);
    hs.push(['CLIENT', 'SETNAME', name ?? 'queuescope']);
    this.handshake = { names: hs.map((c) => c[0] === 'CLIENT' ? 'CLIENT SETNAME' : c[0]), got: 0 };
    socket.write(encodeCommands(hs));
    return socket;
  }

  private onReply(reply: RespValue): void {
    const hs = this.handshake;
    if (hs) {
      const what = hs.names[hs.got++]!;
      if (hs.got === hs.names.length) this.handshake = undefined;
      if (reply instanceof Error) {
        // Redis answers a connection past maxclients with this error and closes: say so, whichever handshake reply it lands on.
        if (/max number of clients/i.test(reply.message)) {
          this.drop(`redis refused the connection: ${reply.message}`);
          return;
        }
        if (what === 'AUTH' && NO_PASSWORD_SET.test(reply.message)) return;
        if (what === 'CLIENT SETNAME') return; // cosmetic; a renamed CLIENT command must not stop scrapes
        // Redis' messages (WRONGPASS, ERR DB index…) never echo the password.
        this.drop(`redis ${what} failed: ${reply.message}`);
      }
      return;
    }
    const p = this.queue[0];
    if (!p) {
      this.drop('redis sent a reply nobody asked for');
      return;
    }
    const i = p.got++;
    if (reply instanceof Error && reply.message.startsWith('NOAUTH')) {
      // The server wants credentials we do not have: that is Redis being unreachable for us
      // (redis_up 0), not thousands of per-key failures. ioredis' ready check says the same.
      this.drop(`redis refused the connection: ${reply.message}`);
      return;
    }
    const err = reply instanceof Error ? reply : null;
    const value = err ? null : p.hgetall?.has(i) && Array.isArray(reply) ? hashObject(reply) : reply;
    if (p.onReply) p.onReply(i, err, value);
    else p.replies[i] = [err, value];
    if (p.got === p.n) {
      this.queue.shift();
      clearTimeout(p.timer);
      p.done({ replies: p.replies, roundtrips: 1, ok: true, ...(p.onReply ? { streamed: true } : {}) });
    }
  }

  /** Destroys the socket and fails every pending batch with `error`. */
  private drop(error: string): void {
    const socket = this.socket;
    this.socket = undefined;
    this.handshake = undefined;
    this.parser.reset();
    socket?.destroy();
    const pending = this.queue.splice(0);
    for (const p of pending) {
      clearTimeout(p.timer);
      const r = failAll(p.n, error);
      p.done({ ...r, roundtrips: 1 });
    }
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** Target of a `redis://` / `rediss://` URL. */
export interface RedisUrlTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

/**
 * Parses `redis[s]://[[user]:password@]host[:port][/db]` (also `?db=` and
 * `?password=` as ioredis accepts them). Credentials are percent-decoded.
 * Defaults: port 6379, db 0.
 * @throws Error for a malformed URL; the message does not contain the URL.
 */
export function parseRedisUrl(url: string): RedisUrlTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('redis.url is not a valid URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('redis.url must start with redis:// or rediss://');
  const host = unbracket(u.hostname) || '127.0.0.1';
  const path = u.pathname.replace(/^\//, '');
  const dbText = path !== '' ? path : u.searchParams.get('db') ?? '0';
  const db = Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error('redis.url database must be a non-negative integer');
  const decode = (s: string): string | undefined => (s === '' ? undefined : decodeURIComponent(s));
  return {
    host,
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    username: decode(u.username),
    password: decode(u.password) ?? u.searchParams.get('password') ?? undefined,
    tls: u.protocol === 'rediss:',
  };
}

/** Indexes of the HGETALL commands in `commands` (undefined when there are none). */
export function hgetallIndexes(commands: readonly Command[]): Set<number> | undefined {
  let out: Set<number> | undefined;
  for (let i = 0; i < commands.length; i++) {
    const name = commands[i]![0];
    if (name.length === 7 && name.toUpperCase() === 'HGETALL') (out ??= new Set()).add(i);
  }
  return out;
}
