/**
 * The local outbox: one SQLite file through better-sqlite3.
 *
 * Why SQLite and not a hand-written journal: durability is the whole point
 * here, and SQLite's WAL with `synchronous=FULL` gives a transaction that is
 * fsynced before `COMMIT` returns, atomic multi-row updates (a supersede
 * rewrites one row and a de-duplication key together), crash recovery that
 * decades of power-cut testing stand behind, and indexed look-ups by group —
 * all things a journal would have to re-implement (framing, checksums,
 * torn-write detection, compaction). better-sqlite3 is the well-kept binding:
 * synchronous (no callback juggling), prebuilt for current Node versions.
 * Accepts are group-committed: one transaction (one fsync) per event-loop
 * turn for all the webhook calls that arrived in it, each in its own savepoint.
 *
 * Single process only: the file is opened with an exclusive lock
 * (`locking_mode=EXCLUSIVE`), so a second sidecar on the same folder fails at
 * start instead of sending everything twice. Replicas share Redis instead.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { SlidingWindowLimiter } from './rate-limit.js';
import { supersede } from './compact.js';
import type { WebhookPayload } from './payload.js';
import { storeFile } from './store-config.js';
import {
  DEDUPE_WINDOW_MS,
  StoreFullError,
  type AcceptOutcome,
  type LeaseResult,
  type QueueHead,
  type QueueStats,
  type RelayStore,
  type RobotBudget,
  type StoredEntry,
} from './store.js';

/** An accept waiting for the next group commit. */
interface PendingAccept {
  args: [robot: string, group: string, dedupe: string, payload: WebhookPayload];
  resolve(o: AcceptOutcome): void;
  reject(err: unknown): void;
  outcome?: AcceptOutcome;
  error?: unknown;
}

interface Row {
  id: number;
  robot: string;
  grp: string;
  accepted_at: number;
  payload: string;
  bytes: number;
}

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** the folder (`notify.store.path`); created if missing; the file is `outbox.sqlite` inside. `:memory:` = not durable (tests) */
  path: string;
  /** hard cap on stored payload bytes (`notify.store.maxBytes`) */
  maxBytes: number;
  /** clock, unix ms (tests) */
  now?: () => number;
}

/** The local, single-process {@link RelayStore}. */
export class SqliteStore implements RelayStore {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  private readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private total: number;
  /** ids being sent right now (never merged into) */
  private readonly claimed = new Set<number>();
  private readonly budgets = new Map<string, RobotBudget>();
  private readonly stmt;
  private readonly acceptTx: (robot: string, group: string, dedupe: string, payload: WebhookPayload) => AcceptOutcome;
  private readonly groupTx: (batch: PendingAccept[]) => void;
  private pending: PendingAccept[] = [];
  private readonly unclaimTx: (robot: string, ids: readonly number[]) => number;
  private readonly completeTx: (ids: readonly number[]) => void;

  /**
   * Opens (creating if needed) the store.
   * @throws Error when the folder cannot be created, the file is not a
   *   SQLite database, or another process holds it.
   */
  constructor(opts: SqliteStoreOptions) {
    const memory = opts.path === ':memory:';
    if (!memory) mkdirSync(opts.path, { recursive: true });
    this.file = memory ? ':memory:' : storeFile(opts.path);
    this.maxBytes = opts.maxBytes;
    this.now = opts.now ?? Date.now;
    // Loaded when a store is opened (robot targets are configured): the native module costs memory otherwise.
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    this.db = new Sqlite(this.file, { timeout: 2000 });
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        robot TEXT NOT NULL,
        grp TEXT NOT NULL,
        accepted_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        bytes INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS outbox_robot ON outbox (robot, id);
      CREATE INDEX IF NOT EXISTS outbox_group ON outbox (robot, grp, id);
      CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS dedupe_expiry ON dedupe (expires_at);
    `);
    // an exclusive lock is only taken at the first write: take it now, so a second process fails here
    this.db.exec('BEGIN IMMEDIATE; COMMIT;');
    const db = this.db;
    this.stmt = {
      dedupeSeen: db.prepare<[string, number], { key: string }>('SELECT key FROM dedupe WHERE key = ? AND expires_at > ?'),
      dedupeSet: db.prepare<[string, number]>('INSERT OR REPLACE INTO dedupe (key, expires_at) VALUES (?, ?)'),
      dedupeExpire: db.prepare<[number]>('DELETE FROM dedupe WHERE expires_at <= ?'),
      latestOfGroup: db.prepare<[string, string], Row>('SELECT * FROM outbox WHERE robot = ? AND grp = ? ORDER BY id DESC LIMIT 1'),
      insert: db.prepare<[string, string, number, string, number]>('INSERT INTO outbox (robot, grp, accepted_at, payload, bytes) VALUES (?, ?, ?, ?, ?)'),
      update: db.prepare<[string, number, number]>('UPDATE outbox SET payload = ?, bytes = ? WHERE id = ?'),
      byId: db.prepare<[number], Row>('SELECT * FROM outbox WHERE id = ?'),
      remove: db.prepare<[number]>('DELETE FROM outbox WHERE id = ?'),
      head: db.prepare<[string, number], Row>('SELECT * FROM outbox WHERE robot = ? ORDER BY id LIMIT ?'),
      stats: db.prepare<[string], { n: number; oldest: number | null }>('SELECT COUNT(*) AS n, MIN(accepted_at) AS oldest FROM outbox WHERE robot = ?'),
      robots: db.prepare<[], { robot: string }>('SELECT DISTINCT robot FROM outbox'),
      totalBytes: db.prepare<[], { b: number | null }>('SELECT SUM(bytes) AS b FROM outbox'),
    };
    this.total = this.stmt.totalBytes.get()?.b ?? 0;

    this.acceptTx = db.transaction((robot: string, group: string, dedupe: string, payload: WebhookPayload): AcceptOutcome => {
      const now = this.now();
      this.stmt.dedupeExpire.run(now);
      if (this.stmt.dedupeSeen.get(dedupe, now)) return { kind: 'deduplicated' };
      const latest = this.stmt.latestOfGroup.get(robot, group);
      if (latest && !this.claimed.has(latest.id)) {
        const merged = JSON.stringify(supersede(JSON.parse(latest.payload) as WebhookPayload, payload));
        const bytes = Buffer.byteLength(merged);
        if (this.total - latest.bytes + bytes > this.maxBytes) throw new StoreFullError(this.fullReason());
        this.stmt.update.run(merged, bytes, latest.id);
        this.total += bytes - latest.bytes;
        this.stmt.dedupeSet.run(dedupe, now + DEDUPE_WINDOW_MS);
        return { kind: 'superseded', id: String(latest.id) };
      }
      const json = JSON.stringify(payload);
      const bytes = Buffer.byteLength(json);
      if (this.total + bytes > this.maxBytes) throw new StoreFullError(this.fullReason());
      const info = this.stmt.insert.run(robot, group, now, json, bytes);
      this.total += bytes;
      this.stmt.dedupeSet.run(dedupe, now + DEDUPE_WINDOW_MS);
      return { kind: 'stored', id: String(info.lastInsertRowid) };
    });

    // Group commit: the accepts that arrived during one event-loop turn share one transaction (one
    // fsync); each runs in its own savepoint, so one refused (store full) does not undo the others.
    this.groupTx = db.transaction((batch: PendingAccept[]): void => {
      for (const item of batch) {
        try {
          item.outcome = this.acceptTx(...item.args);
        } catch (err) {
          item.error = err;
        }
      }
    });

    this.unclaimTx = db.transaction((robot: string, ids: readonly number[]): number => {
      for (const id of ids) this.claimed.delete(id);
      let merged = 0;
      for (const id of [...ids].sort((a, b) => a - b)) {
        const row = this.stmt.byId.get(id);
        if (!row) continue;
        const latest = this.stmt.latestOfGroup.get(robot, row.grp);
        if (!latest || latest.id === id || this.claimed.has(latest.id)) continue;
        // a newer notification of this group arrived while this one was being sent: fold it into this older entry
        const json = JSON.stringify(supersede(JSON.parse(row.payload) as WebhookPayload, JSON.parse(latest.payload) as WebhookPayload));
        const bytes = Buffer.byteLength(json);
        this.stmt.update.run(json, bytes, id);
        this.stmt.remove.run(latest.id);
        this.total += bytes - row.bytes - latest.bytes;
        merged++;
      }
      return merged;
    });

    this.completeTx = db.transaction((ids: readonly number[]): void => {
      for (const id of ids) {
        this.claimed.delete(id);
        const row = this.stmt.byId.get(id);
        if (!row) continue;
        this.stmt.remove.run(id);
        this.total -= row.bytes;
      }
    });
  }

  private fullReason(): string {
    return `the notification store holds ${this.total} bytes (notify.store.maxBytes ${this.maxBytes})`;
  }

  /**
   * Stores a notification (see {@link RelayStore.accept}). Resolves once the
   * transaction holding it is committed and fsynced (WAL, synchronous=FULL).
   * Accepts arriving in the same event-loop turn are committed together: 300
   * concurrent webhook calls cost a few fsyncs, not 300 back to back on the
   * event loop.
   */
  accept(robot: string, group: string, dedupe: string, payload: WebhookPayload): Promise<AcceptOutcome> {
    return new Promise<AcceptOutcome>((resolve, reject) => {
      this.pending.push({ args: [robot, group, dedupe, payload], resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.commitPending());
    });
  }

  private commitPending(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      if (!this.db.open) throw new Error('the notification store is closed');
      this.groupTx(batch);
    } catch (err) {
      // the commit itself failed (disk full, I/O error, closed): nothing of the batch is stored.
      // This runs from setImmediate, so nothing may throw past here: recounting can fail too.
      try {
        this.total = this.stmt.totalBytes.get()?.b ?? 0;
      } catch {
        // keep the last count; the next successful commit corrects it
      }
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) {
      if (item.outcome) item.resolve(item.outcome);
      else item.reject(item.error);
    }
  }

  async acquire(): Promise<LeaseResult> {
    return { held: true, fresh: false, orphaned: [] };
  }

  async release(): Promise<void> {}

  async head(robot: string, limit: number): Promise<QueueHead> {
    const entries: StoredEntry[] = this.stmt.head.all(robot, limit).map((r) => ({
      id: String(r.id),
      acceptedAt: r.accepted_at,
      payload: JSON.parse(r.payload) as WebhookPayload,
      bytes: r.bytes,
    }));
    const s = await this.stats(robot);
    return { entries, ...s };
  }

  async stats(robot: string): Promise<QueueStats> {
    const r = this.stmt.stats.get(robot);
    return { total: r?.n ?? 0, oldestAt: r?.oldest ?? undefined };
  }

  async claim(_robot: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.claimed.add(Number(id));
  }

  async unclaim(robot: string, ids: readonly string[]): Promise<number> {
    return this.unclaimTx(robot, ids.map(Number));
  }

  async complete(_robot: string, ids: readonly string[]): Promise<void> {
    this.completeTx(ids.map(Number));
  }

  async robots(): Promise<string[]> {
    return this.stmt.robots.all().map((r) => r.robot);
  }

  bytes(): number {
    return this.total;
  }

  budget(robot: string): RobotBudget {
    let b = this.budgets.get(robot);
    if (!b) {
      const limiter = new SlidingWindowLimiter(1, 1000);
      b = {
        async reserve(count, windowMs) {
          limiter.count = count;
          limiter.windowMs = windowMs;
          const wait = limiter.delayMs();
          return wait > 0 ? { ok: false, waitMs: wait } : { ok: true, token: '' };
        },
        async finish() {
          limiter.record();
        },
        async cancel() {},
      };
      this.budgets.set(robot, b);
    }
    return b;
  }

  async close(): Promise<void> {
    this.commitPending();
    if (this.db.open) this.db.close();
  }
}
