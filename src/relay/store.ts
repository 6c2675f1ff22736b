/**
 * The outbox store: where accepted notifications live until a robot took
 * them. Two implementations share this contract:
 *
 * - {@link SqliteStore} (sqlite-store.ts): one process, a local SQLite file;
 * - {@link RedisStore} (redis-store.ts): every relay replica shares one Redis,
 *   which also holds the per-robot rate budget, de-duplication keys and the
 *   per-robot sender lease.
 *
 * Ids are opaque strings that sort in acceptance order.
 */
import type { WebhookPayload } from './payload.js';

/** A queued notification. */
export interface StoredEntry {
  readonly id: string;
  /** unix ms of its first acceptance (kept when a newer one of its group supersedes it) */
  readonly acceptedAt: number;
  /** the compact payload (compact.ts) */
  readonly payload: WebhookPayload;
  /** stored size in bytes (changes when it is superseded) */
  readonly bytes: number;
}

/** What {@link RelayStore.accept} did with a notification. */
export type AcceptOutcome =
  /** a new entry */
  | { kind: 'stored'; id: string }
  /** merged into the queued entry `id` of the same group */
  | { kind: 'superseded'; id: string }
  /** the same notification was accepted already (another replica, or a retry) */
  | { kind: 'deduplicated' };

/** Thrown by {@link RelayStore.accept} when the store holds `notify.store.maxBytes` already (answer 503). */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError';
}

/** The head of one robot's queue, for the sender. */
export interface QueueHead {
  /** the oldest entries, in order, at most the asked limit */
  entries: StoredEntry[];
  /** entries queued for this robot */
  total: number;
  /** unix ms of the oldest entry's acceptance, undefined when empty */
  oldestAt: number | undefined;
}

/** Queue length and age for the gauges, without payloads. */
export interface QueueStats {
  total: number;
  oldestAt: number | undefined;
}

/** The result of {@link RelayStore.acquire}. */
export type LeaseResult =
  | { held: false }
  /**
   * this process sends for the robot now; `fresh` when it just became the
   * sender, `orphaned` = ids a previous sender had claimed and never finished
   * (it died mid-send): unclaimed again, they get sent by us
   */
  | { held: true; fresh: boolean; orphaned: string[] };

/** A reservation in a robot's rate budget. */
export type Reservation = { ok: true; token: string } | { ok: false; waitMs: number };

/** One robot's sliding-window rate budget (shared by every replica with Redis). */
export interface RobotBudget {
  /** Reserves one robot call now, or says how long to wait (ms). */
  reserve(count: number, windowMs: number): Promise<Reservation>;
  /** Marks the reserved call as finished (its time in the window becomes the finish time). */
  finish(token: string): Promise<void>;
  /** Gives back a reservation that was not used for a call. */
  cancel(token: string): Promise<void>;
}

/** The store contract (see the file comment). Every method may throw on an I/O error (the caller retries). */
export interface RelayStore {
  readonly kind: 'sqlite' | 'redis';
  /**
   * Stores a notification durably (synced / acknowledged by Redis before it
   * resolves): a new entry, a merge into the queued (not claimed) entry of the
   * same `group` ({@link supersede} rule), or nothing when `dedupe` was seen
   * within the de-duplication window.
   * @throws StoreFullError past `maxBytes`.
   */
  accept(robot: string, group: string, dedupe: string, payload: WebhookPayload): Promise<AcceptOutcome>;
  /** Becomes (or stays) the one sender for `robot`. Always held for the local store. */
  acquire(robot: string): Promise<LeaseResult>;
  /** Gives up being the sender (shutdown). */
  release(robot: string): Promise<void>;
  /** The oldest `limit` entries of `robot`. */
  head(robot: string, limit: number): Promise<QueueHead>;
  /** Queue length and oldest acceptance time of `robot`. */
  stats(robot: string): Promise<QueueStats>;
  /** Marks entries as being sent: newer notifications of their groups become new entries instead of merging into them. */
  claim(robot: string, ids: readonly string[]): Promise<void>;
  /**
   * Puts claimed entries back (the send will be retried); a newer entry of the
   * same group that arrived meanwhile is merged into the older one.
   * @returns how many newer entries were merged away
   */
  unclaim(robot: string, ids: readonly string[]): Promise<number>;
  /** Removes entries for good (delivered, or refused permanently). */
  complete(robot: string, ids: readonly string[]): Promise<void>;
  /** The robots with queued entries (at start: what to recover). */
  robots(): Promise<string[]>;
  /** Bytes of stored payloads (last known value; the gauge). */
  bytes(): number;
  budget(robot: string): RobotBudget;
  close(): Promise<void>;
}

/** How long a notification's de-duplication key is remembered, ms: covers the HA peers' send delay (peer_timeout × peers) with room. */
export const DEDUPE_WINDOW_MS = 120_000;
