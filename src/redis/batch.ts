/**
 * Sends one scrape batch to Redis: every command as one pipeline per node,
 * bounded by the scrape deadline. The engine only sees this interface, so
 * standalone, Sentinel and Cluster differ only in how commands are routed.
 */
import type { Redis } from 'ioredis';
import { decodeBytes, encodeString, hasEscapedBytes } from './bytes.js';
import type { Command, Reply } from './command.js';

/** A command with the key it routes by (Cluster picks the node from it). */
export interface RoutedCommand {
  readonly command: Command;
  readonly routingKey: string | undefined;
  /**
   * True when the entry's command may differ from one exec of the same
   * planned array to the next (it carries the scrape clock: the engine
   * resolves it again, in place, before each scrape). See the `planned`
   * parameter of {@link BatchExecutor.exec}.
   */
  readonly varies?: boolean;
}

/**
 * Receives the reply of command `index` of a streamed batch (see
 * {@link BatchExecutor.exec}): the Redis error reply, or null and the value.
 * No `[err, value]` tuple is made per reply on this path (issue 14: ~2.7 MiB
 * of garbage per 10,000-queue scrape); a consumer that keeps a reply builds
 * its own.
 */
export type ReplyConsumer = (index: number, err: Error | null, value: unknown) => void;

/** What a batch returned. */
export interface BatchResult {
  /** One reply per command, in order (empty when `streamed`). */
  readonly replies: Reply[];
  /** True when the replies went to the `onReply` consumer instead (as many as arrived before any failure). */
  readonly streamed?: boolean;
  /** Pipelines sent (one per node touched). */
  readonly roundtrips: number;
  /** False when the batch as a whole failed (connection down, deadline passed). */
  readonly ok: boolean;
  /** Why the batch failed, when it did (never contains credentials). */
  readonly error?: string;
}

/** Executes batches against one Redis deployment. */
export interface BatchExecutor {
  /**
   * Sends `commands` as pipelines and waits for every reply or the deadline.
   * Never rejects: failures come back as `ok: false` with error replies.
   * @param deadlineMs absolute unix milliseconds.
   * @param onReply when given, an executor that can stream (the standalone
   *   one) hands each reply over as it is parsed, in command order, and
   *   answers `replies: []` (`streamed: true`): the caller reads a step as
   *   soon as its replies are in, while later ones are still on the wire,
   *   and no batch-sized reply array is kept. Others ignore it.
   * @param planned true when `commands` is a planned batch: the caller passes
   *   the same array object on later scrapes and, in between, changes only
   *   its {@link RoutedCommand.varies} entries (the engine's first batch). An
   *   executor may keep what it derived from such an array (its read-only
   *   checks, its encoding) for as long as the array lives.
   */
  exec(commands: readonly RoutedCommand[], deadlineMs: number, onReply?: ReplyConsumer, planned?: boolean): Promise<BatchResult>;
  /**
   * Iterates `SCAN 0 MATCH match COUNT count [TYPE type]` to the end on every
   * master (never KEYS), handing each page of keys to `onKeys`; stops early when
   * `onKeys` returns false. Used by discovery only, never on the scrape path.
   * @throws the connection's error when Redis is unreachable.
   */
  scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void>;
  /** Closes connections. */
  close(): Promise<void>;
}

/** Options of a keyspace scan. */
export interface ScanOptions {
  /** glob pattern (Redis MATCH syntax) */
  readonly match: string;
  /** COUNT hint per SCAN call (config `scrape.scanCount`) */
  readonly count: number;
  /** TYPE filter (Redis >= 6), e.g. `stream`, `list` */
  readonly type?: string;
}

/**
 * SCANs one node to the end.
 * @returns false when `onKeys` stopped the scan early.
 */
export async function scanNode(client: Redis, opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<boolean> {
  let cursor = '0';
  do {
    const args: (string | number)[] = [cursor, 'MATCH', opts.match, 'COUNT', opts.count];
    if (opts.type) args.push('TYPE', opts.type);
    // As bytes: a key that is not valid UTF-8 keeps its exact bytes (escaped, see bytes.ts).
    const [next, keys] = (await client.callBuffer('SCAN', ...args)) as [Buffer, Buffer[]];
    cursor = next.toString('latin1');
    const names = keys.map((k) => decodeBytes(k));
    if (names.length > 0 && onKeys(names) === false) return false;
  } while (cursor !== '0');
  return true;
}

/** Commands the engine may send. Anything else is a programming error: queuescope never writes. */
export const READ_ONLY_COMMANDS = new Set([
  'PING', 'INFO', 'TYPE', 'EXISTS', 'GET', 'MGET', 'STRLEN',
  'LLEN', 'LINDEX', 'LRANGE', 'HLEN', 'HGET', 'HMGET', 'HGETALL', 'HVALS', 'HEXISTS',
  'SCARD', 'SISMEMBER', 'SMEMBERS', 'SSCAN', 'ZCARD', 'ZCOUNT', 'ZRANGE', 'ZRANGEBYSCORE', 'ZSCORE',
  'XLEN', 'XINFO', 'XPENDING', 'XRANGE', 'XREVRANGE', 'SCAN',
  // CLIENT LIST only (BullMQ workers by client name): see assertReadOnly.
  'CLIENT',
]);

/** The key a command touches (for Cluster routing); undefined for keyless commands. */
export function keyOf(command: Command): string | undefined {
  const name = upper(command[0]);
  if (name === 'PING' || name === 'INFO' || name === 'SCAN' || name === 'CLIENT') return undefined;
  const arg = name === 'XINFO' ? command[2] : command[1];
  return arg === undefined ? undefined : String(arg);
}

/** `name` in upper case; the planned commands are upper case already, and then no new string is made. */
function upper(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 97 && c <= 122) return name.toUpperCase();
  }
  return name;
}

/** Rejects any command that is not known to be read-only. */
export function assertReadOnly(command: Command): void {
  const name = upper(command[0]);
  if (!READ_ONLY_COMMANDS.has(name)) throw new Error(`refusing to send ${name}: queuescope only reads from a monitored Redis`);
  if (name === 'CLIENT' && String(command[1]).toUpperCase() !== 'LIST') throw new Error(`refusing to send CLIENT ${String(command[1])}: only CLIENT LIST is read`);
}

/** A command argument as ioredis should send it: a string with escaped key bytes as its exact bytes. */
function toWire(arg: string | number): string | number | Buffer {
  return typeof arg === 'string' && hasEscapedBytes(arg) ? encodeString(arg) : arg;
}

/**
 * A batch of `n` commands that failed as a whole: every reply is the same
 * error, `ok` is false.
 * @param roundtrips pipelines that were sent before it failed
 */
export function failAll(n: number, error: string, roundtrips = 0): BatchResult {
  const err = new Error(error);
  const replies: Reply[] = new Array(n);
  for (let i = 0; i < n; i++) replies[i] = [err, null];
  return { replies, roundtrips, ok: false, error };
}

/**
 * Runs `pipeline` against `deadlineMs`; a late answer is dropped (ioredis'
 * commandTimeout reclaims the commands).
 */
export async function execPipeline(client: Redis, commands: readonly Command[], deadlineMs: number): Promise<BatchResult> {
  if (commands.length === 0) return { replies: [], roundtrips: 0, ok: true };
  if (client.status !== 'ready' && !(await whenReady(client, deadlineMs))) {
    return failAll(commands.length, `redis not connected (${client.status})`, 0);
  }
  const remaining = deadlineMs - Date.now();
  if (remaining <= 0) return failAll(commands.length, 'scrape deadline passed before the batch was sent', 0);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), remaining);
  });
  try {
    // ioredis maps pipeline entries to its lowercase command methods.
    // Escaped key bytes go as the bytes they stand for, not as UTF-8 of the escapes.
    const pipeline = client.pipeline(commands.map(([name, ...args]) => [name.toLowerCase(), ...args.map(toWire)]));
    const result = await Promise.race([pipeline.exec(), timeout]);
    if (result === 'timeout') return failAll(commands.length, 'scrape deadline passed waiting for redis', 1);
    if (!result) return failAll(commands.length, 'redis pipeline returned nothing', 1);
    // A connection lost mid-batch shows up as the same error on every reply.
    const replies = result as Reply[];
    const first = replies[0]?.[0];
    if (first && isConnectionError(first) && replies.every((r) => r[0] !== null)) {
      return { replies, roundtrips: 1, ok: false, error: first.message };
    }
    return { replies, roundtrips: 1, ok: true };
  } catch (err) {
    return failAll(commands.length, (err as Error).message, 1);
  } finally {
    clearTimeout(timer);
  }
}

function isConnectionError(err: Error): boolean {
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|Command timed out|EPIPE/i.test(err.message);
}

/** What {@link whenReady} needs of an ioredis `Redis` or `Cluster` client. */
export interface Connectable {
  readonly status: string;
  connect(): Promise<void>;
  once(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

/**
 * Resolves true once `client` is ready, false at `deadlineMs` (unix ms) or as
 * soon as the attempt fails. Only a connection being set up right now
 * (`wait`, `connecting`, `connect`: a first connect, a pooled probe target
 * opened a moment ago) is waited for; a client in reconnect back-off or
 * closed answers false at once, so a lost Redis costs a scrape nothing but
 * `redis_up 0`.
 */
export function whenReady(client: Connectable, deadlineMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  if (client.status === 'wait') client.connect().catch(() => undefined);
  if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') return Promise.resolve(false);
  const remaining = deadlineMs - Date.now();
  if (remaining <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.removeListener('ready', onReady);
      client.removeListener('close', onFail);
      client.removeListener('end', onFail);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const onFail = (): void => done(false);
    const timer = setTimeout(() => done(false), remaining);
    client.once('ready', onReady);
    client.once('close', onFail);
    client.once('end', onFail);
  });
}

/** Executor for a single Redis server (standalone or the current Sentinel master). */
export class SingleNodeExecutor implements BatchExecutor {
  constructor(private readonly client: Redis) {}

  async exec(commands: readonly RoutedCommand[], deadlineMs: number): Promise<BatchResult> {
    for (const c of commands) assertReadOnly(c.command);
    // execPipeline waits for a connection being set up (first scrape after start, a probe target just opened).
    return execPipeline(this.client, commands.map((c) => c.command), deadlineMs);
  }

  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    await scanNode(this.client, opts, onKeys);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
