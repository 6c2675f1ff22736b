/**
 * Executor for a standalone Redis (`redis.url`): scrape batches and
 * discovery's SCAN pages go over one {@link RawRedisConnection} (one RESP2
 * write, one streaming parse, one timer per batch), so one connection, with
 * one rule for a failed batch, is held to the monitored Redis.
 */
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { Outage } from '../log-once.js';
import { assertReadOnly, failAll, type BatchExecutor, type BatchResult, type ReplyConsumer, type RoutedCommand, type ScanOptions } from './batch.js';
import type { Command } from './command.js';
import { tlsOptions } from './connection.js';
import { hgetallIndexes, parseRedisUrl, RawRedisConnection, type RawConnectionOptions } from './raw-connection.js';
import { encodeCommands } from './resp.js';

/** {@link RawConnectionOptions} for `cfg` (`redis.username`/`password` override the URL's). */
export function rawOptions(cfg: RedisConfig): RawConnectionOptions {
  const target = parseRedisUrl(cfg.url);
  const username = cfg.username !== '' ? cfg.username : target.username;
  const password = cfg.password !== undefined && cfg.password !== '' ? cfg.password : target.password;
  const tls = tlsOptions(cfg);
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    connectTimeoutMs: cfg.connectTimeout,
    name: 'queuescope',
    limits: { maxBulkBytes: cfg.maxBulkBytes, maxReplyBytes: cfg.maxReplyBytes, maxReplyElements: cfg.maxReplyElements },
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * Standalone executor over one raw RESP2 socket. Failed batches are logged
 * once per distinct error (URL redacted), and once more when batches succeed
 * again, like the ioredis connections' state changes.
 */
export class StandaloneExecutor implements BatchExecutor {
  private readonly raw: RawRedisConnection;
  private readonly name: string;
  private readonly outage = new Outage();
  /** Planned batches encoded (see {@link exec}); an entry goes with its array. */
  private readonly packed = new WeakMap<readonly RoutedCommand[], PackedBatch>();
  /** Payload buffer reused by the planned batches whose varying commands are spliced in per scrape. */
  private scratch: Buffer | undefined;
  /** True from a scratch payload's write until the socket has taken it (a batch can time out before). */
  private scratchBusy = false;
  /** What {@link scratch} holds now: the payload of this planned batch, laid out so (see {@link payload}). */
  private scratchLayout: ScratchLayout | undefined;
  private readonly scratchWritten = (): void => {
    this.scratchBusy = false;
  };

  /** @throws Error when `cfg.url` cannot be parsed (the message has no credentials). */
  constructor(private readonly cfg: RedisConfig, private readonly log: Logger) {
    this.raw = new RawRedisConnection(rawOptions(cfg));
    this.name = redactUrl(cfg.url);
  }

  /**
   * Checks every command is read-only (throws otherwise: a programming error), then sends them as one batch.
   * A `planned` array is checked and encoded once ({@link PackedBatch}); later scrapes send its bytes
   * with only the {@link RoutedCommand.varies} entries encoded again (issue 14: the planned batch is
   * neither re-encoded nor held as a Buffer per command).
   */
  async exec(commands: readonly RoutedCommand[], deadlineMs: number, onReply?: ReplyConsumer, planned = false): Promise<BatchResult> {
    const n = commands.length;
    let result: BatchResult;
    if (planned) {
      let packed = this.packed.get(commands);
      if (!packed) {
        for (const rc of commands) assertReadOnly(rc.command);
        try {
          packed = pack(commands);
        } catch (err) {
          return failAll(n, (err as Error).message);
        }
        this.packed.set(commands, packed);
      }
      const { varying } = packed;
      for (let j = 0; j < varying.length; j++) assertReadOnly(commands[varying[j]!]!.command);
      let payload: Buffer;
      try {
        payload = this.payload(packed, commands);
      } catch (err) {
        return failAll(n, (err as Error).message);
      }
      const scratch = payload.buffer === this.scratch?.buffer;
      if (scratch) this.scratchBusy = true;
      result = await this.raw.send(n, payload, packed.hgetall, deadlineMs, onReply, scratch ? this.scratchWritten : undefined);
    } else {
      const plain = commands.map((rc) => rc.command);
      for (const c of plain) assertReadOnly(c);
      result = await this.raw.exec(plain, deadlineMs, onReply);
    }
    if (!result.ok) {
      if (this.outage.fail(result.error ?? '')) this.log.warn({ redis: this.name, err: result.error }, 'redis scrape batch failed');
    } else if (n > 0 && this.outage.recover()) {
      this.log.info({ redis: this.name }, 'redis scrape batches succeed again');
    }
    return result;
  }

  /**
   * The bytes of `commands` (a planned array, checked) for this scrape: the packed bytes as they
   * are when nothing varies, else the packed runs with the varying commands, encoded now, spliced
   * in between — written into the reused scratch buffer when it is free and big enough. When the
   * scratch already holds this batch's last payload and every varying command encodes to as many
   * bytes as last time (a clock argument keeps its digit count for years), only the varying
   * commands are written over their old bytes: the fixed runs (~280 KiB at the reference
   * workload, ~1 ms to copy on the scrape's critical path) are in place already.
   * @throws TypeError for a varying command that cannot be encoded (a non-finite number).
   */
  private payload(packed: PackedBatch, commands: readonly RoutedCommand[]): Buffer {
    const { bytes, varying, cuts } = packed;
    const m = varying.length;
    if (m === 0) return bytes;
    const now = new Array<RoutedCommand['command']>(m);
    for (let j = 0; j < m; j++) now[j] = commands[varying[j]!]!.command;
    const ends = new Int32Array(m);
    const fresh = encodeCommands(now, ends);
    const size = bytes.length + fresh.length;
    const layout = this.scratchLayout;
    // Equal ends mean equal lengths, so the same payload size.
    if (layout && layout.packed === packed && !this.scratchBusy && sameRuns(layout.ends, ends)) {
      const out = this.scratch!;
      let freshFrom = 0;
      for (let j = 0; j < m; j++) {
        copyRun(fresh, freshFrom, ends[j]!, out, layout.starts[j]!);
        freshFrom = ends[j]!;
      }
      return out.subarray(0, size);
    }
    let out = this.scratch;
    if (!out || this.scratchBusy || out.length < size) {
      out = Buffer.allocUnsafeSlow(Math.ceil(size * 1.1));
      if (!this.scratchBusy) this.scratch = out;
    }
    const starts = new Int32Array(m);
    let at = 0;
    let from = 0;
    let freshFrom = 0;
    for (let j = 0; j < m; j++) {
      at = copyRun(bytes, from, cuts[j]!, out, at);
      from = cuts[j]!;
      starts[j] = at;
      at = copyRun(fresh, freshFrom, ends[j]!, out, at);
      freshFrom = ends[j]!;
    }
    at = copyRun(bytes, from, bytes.length, out, at);
    if (out === this.scratch) this.scratchLayout = { packed, starts, ends };
    return out.subarray(0, at);
  }

  /**
   * SCANs the server to the end, one page per batch on the same connection;
   * each page may take `redis.connectTimeout` (to connect) plus
   * `redis.commandTimeout`.
   * @throws Error with the connection's reason when a page fails (Redis unreachable).
   */
  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    let cursor = '0';
    do {
      const command: Command = ['SCAN', cursor, 'MATCH', opts.match, 'COUNT', opts.count, ...(opts.type ? ['TYPE', opts.type] : [])];
      const result = await this.raw.exec([command], Date.now() + this.cfg.connectTimeout + this.cfg.commandTimeout);
      const [err, page] = result.replies[0] ?? [new Error(result.error ?? 'no reply'), null];
      if (!result.ok || err) throw err ?? new Error(result.error ?? 'redis batch failed');
      if (!Array.isArray(page) || page.length !== 2 || !Array.isArray(page[1])) throw new Error('SCAN: unexpected reply');
      cursor = String(page[0]);
      const keys = (page[1] as unknown[]).map((k) => String(k));
      if (keys.length > 0 && onKeys(keys) === false) return;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.raw.close();
  }
}

/**
 * A planned batch, checked and encoded once: the RESP bytes of its fixed
 * commands back to back, and where the varying ones go.
 */
interface PackedBatch {
  /** The fixed commands' encoding, in order. */
  readonly bytes: Buffer;
  /** Indexes of the {@link RoutedCommand.varies} entries, ascending. */
  readonly varying: Int32Array;
  /** `cuts[j]`: the offset in {@link bytes} where varying entry `j` is spliced in. */
  readonly cuts: Int32Array;
  /** Indexes of its HGETALL commands (a varying entry keeps its command name). */
  readonly hgetall: ReadonlySet<number> | undefined;
}

/** Where {@link StandaloneExecutor}'s scratch buffer holds the varying commands of a planned batch's payload. */
interface ScratchLayout {
  readonly packed: PackedBatch;
  /** Offset of varying entry `j`'s encoding in the scratch. */
  readonly starts: Int32Array;
  /** `ends[j]`: the offset past varying entry `j` in that scrape's fresh encoding (so its lengths, cumulated). */
  readonly ends: Int32Array;
}

/** Whether two cumulated-length arrays are the same (every varying command encoded to as many bytes). */
function sameRuns(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Copies `src[from, to)` into `dst` at `at`; returns the offset after it.
 * Runs between spliced commands are tens of bytes: a byte loop, where
 * `Buffer#copy` makes a view per call (thousands per scrape).
 */
function copyRun(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  if (to - from > 256) return at + src.copy(dst, at, from, to);
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
  return at;
}

/**
 * Packs a planned array ({@link PackedBatch}); its commands are checked already.
 * @throws TypeError for a command that cannot be encoded (a non-finite number)
 */
function pack(commands: readonly RoutedCommand[]): PackedBatch {
  const fixed: RoutedCommand['command'][] = [];
  const varying: number[] = [];
  for (let i = 0; i < commands.length; i++) {
    const rc = commands[i]!;
    if (rc.varies) varying.push(i);
    else fixed.push(rc.command);
  }
  const ends = new Int32Array(fixed.length);
  const bytes = encodeCommands(fixed, ends);
  // Varying entry j follows the fixed commands before it (index − j of them).
  const cuts = Int32Array.from(varying, (index, j) => (index - j > 0 ? ends[index - j - 1]! : 0));
  return { bytes, varying: Int32Array.from(varying), cuts, hgetall: hgetallIndexes(commands.map((rc) => rc.command)) };
}
