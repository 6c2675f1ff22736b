/**
 * The outbox of one robot: accepted notifications live in the store
 * (store.ts: local SQLite, or a Redis shared by every replica) until the robot
 * took them; this class sends them — sliding-window rate limit, digest
 * merging, retries with backoff and jitter, the permanent-refusal split, and
 * shutdown that keeps what it could not send.
 *
 * One call to the robot is in flight at a time, by one process: locally
 * trivially, with Redis because only the holder of the robot's lease sends.
 * When the rate budget is spent, notifications wait; when a slot opens, as
 * many queued notifications as fit in one message (without cutting any
 * alert) are merged into a digest.
 */
import { readFileSync } from 'node:fs';
import { compactPayload, dedupeKey, groupId } from './compact.js';
import { compileTemplate, type CompiledTemplate } from './template.js';
import { mergePayloads, renderMessage, type RenderedMessage } from './render.js';
import { postToRobot, type ChannelTarget, type RobotOutcome, type RobotRequest } from './robots.js';
import { redact, urlSecrets, utf8Bytes } from './text.js';
import { NOTIFICATION_OUTCOMES, type RelayMetrics } from './metrics.js';
import type { WebhookPayload } from './payload.js';
import { StoreFullError, type RelayStore, type StoredEntry } from './store.js';

/** The structured logger the relay writes to (pino / Fastify's logger fit). */
export interface RelayLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How an accepted notification ended (or why the HTTP request stopped waiting for it). */
export type EntryOutcome =
  | { kind: 'sent' }
  /** the robot refused it for good (permanent errcode), alone — not only as part of a digest */
  | { kind: 'failed'; reason: string }
  /** still in the store when the hold time ran out (or at shutdown): delivered later */
  | { kind: 'queued' };

/** Thrown by {@link Outbox.accept} when a notification cannot be accepted (answer 5xx). */
export class NotAcceptedError extends Error {
  override readonly name = 'NotAcceptedError';
}

/** Timing knobs (all milliseconds); defaults in {@link DEFAULT_TUNING}. */
export interface OutboxTuning {
  /** how long the HTTP request waits for delivery before answering 202 (keep below Alertmanager's 10 s minimum notify timeout) */
  holdMs: number;
  /** first retry delay; doubles per consecutive failure */
  retryBaseMs: number;
  /** retry delay cap */
  retryMaxMs: number;
  /** shared store: the robot sender lease TTL (a dead sender's work moves after this) */
  leaseMs: number;
  /** shared store: how often a replica looks for work it did not receive itself */
  pollMs: number;
}

/** Production defaults: hold 5 s, retries from 1 s doubling up to 60 s, lease 10 s, poll 500 ms. */
export const DEFAULT_TUNING: OutboxTuning = { holdMs: 5000, retryBaseMs: 1000, retryMaxMs: 60_000, leaseMs: 10_000, pollMs: 500 };

/** Entries read from the head of the queue per send: more than fit in one 20000-byte message. */
const HEAD_LIMIT = 256;
/** Bytes kept free when fitting a digest by measured sizes (the "合并了 N 条通知" line, a longer title). */
const DIGEST_SLACK_BYTES = 96;

/** What {@link Outbox.accept} did. */
export type Accepted =
  | { kind: 'deduplicated' }
  | {
      kind: 'stored' | 'superseded';
      id: string;
      /** resolves with the outcome, or `queued` after `holdMs` (the store keeps it and it is delivered later) */
      wait(holdMs: number): Promise<EntryOutcome>;
    };

/** Everything an outbox needs from its relay. */
export interface OutboxDeps {
  target: ChannelTarget;
  /** custom template path ('' = default) */
  templatePath: string;
  timeZone: string;
  rateLimit: { count: number; windowMs: number };
  timeoutMs: number;
  tuning: OutboxTuning;
  metrics: RelayMetrics;
  log: RelayLogger;
  store: RelayStore;
  /** injectable randomness for jitter, [0, 1) */
  random?: () => number;
}

interface Measured {
  bytes: number;
  /** rendered alone, UTF-8 bytes */
  size: number;
  /** the message frame (heading, footer) of that rendering, bytes */
  frame: number;
}

/** The outbox of one robot (one `channel/target`). */
export class Outbox {
  readonly robot: string;
  private deps: OutboxDeps;
  private template: CompiledTemplate | undefined;
  private readonly waiters = new Map<string, ((o: EntryOutcome) => void)[]>();
  private readonly companions: RobotRequest[] = [];
  /** ids to send one at a time: their digest was refused permanently */
  private readonly solo = new Set<string>();
  private readonly measured = new Map<string, Measured>();
  private failures = 0;
  private retryAt = 0;
  private held = false;
  private total = 0;
  private oldestAt: number | undefined;
  private sending = false;
  private closing = false;
  private stopped = false;
  private wakeAt = 0;
  private wake: (() => void) | undefined;
  private kicked = false;
  private readonly loop: Promise<void>;

  constructor(deps: OutboxDeps) {
    this.deps = deps;
    this.robot = `${deps.target.channel}/${deps.target.target}`;
    this.template = this.loadTemplate(deps.templatePath);
    for (const outcome of NOTIFICATION_OUTCOMES) deps.metrics.notifications.inc({ ...this.labels(), outcome }, 0);
    this.gauge();
    this.loop = this.run();
  }

  private labels(): { channel: string; target: string } {
    return { channel: this.deps.target.channel, target: this.deps.target.target };
  }

  private get shared(): boolean {
    return this.deps.store.kind === 'redis';
  }

  private secrets(): string[] {
    const t = this.deps.target;
    return [...urlSecrets(t.url), ...(t.secret ? [t.secret, encodeURIComponent(t.secret)] : [])];
  }

  private loadTemplate(path: string): CompiledTemplate | undefined {
    if (!path) return undefined;
    try {
      return compileTemplate(readFileSync(path, 'utf8'));
    } catch (err) {
      this.deps.log.warn({ ...this.labels(), template: path, reason: redact(String((err as Error).message ?? err), this.secrets()) }, 'custom template unusable; using the default template');
      return undefined;
    }
  }

  /** Applies a new target config / rate limit / time zone (after a config reload). */
  update(deps: Omit<OutboxDeps, 'metrics' | 'log' | 'store'>): void {
    const templateChanged = deps.templatePath !== this.deps.templatePath;
    this.deps = { ...this.deps, ...deps };
    if (templateChanged) {
      this.template = this.loadTemplate(deps.templatePath);
      this.measured.clear();
    }
    this.kick();
  }

  /** Notifications waiting for this robot (last known; shared store: every replica's). */
  get length(): number {
    return this.total;
  }

  /** Seconds since the oldest undelivered notification was accepted; 0 when none waits. */
  oldestAgeSeconds(now = Date.now()): number {
    return this.oldestAt === undefined || this.total === 0 ? 0 : Math.max(0, (now - this.oldestAt) / 1000);
  }

  private gauge(): void {
    this.deps.metrics.queueLength.set(this.labels(), this.total);
    this.deps.metrics.oldestAge.set(this.labels(), this.oldestAgeSeconds());
  }

  /**
   * Accepts a notification: compacts it and writes it to the store (durable
   * before this resolves), merged into the queued entry of its group when
   * there is one, or recognised as a duplicate.
   * @throws NotAcceptedError when shutting down, the store is full, or the store is unreachable.
   */
  async accept(payload: WebhookPayload): Promise<Accepted> {
    if (this.closing) throw new NotAcceptedError('shutting down');
    const compact = compactPayload(payload);
    let r;
    try {
      r = await this.deps.store.accept(this.robot, groupId(compact), dedupeKey(this.robot, compact), compact);
    } catch (err) {
      if (err instanceof StoreFullError) throw new NotAcceptedError(err.message);
      throw new NotAcceptedError(`the notification store failed: ${String((err as Error)?.message ?? err)}`);
    }
    this.deps.metrics.notifications.inc({ ...this.labels(), outcome: r.kind });
    if (r.kind === 'deduplicated') return { kind: 'deduplicated' };
    if (r.kind === 'stored') {
      this.total++;
      this.oldestAt ??= Date.now();
      this.gauge();
    }
    this.kick();
    const id = r.id;
    return {
      kind: r.kind,
      id,
      wait: async (holdMs) => {
        let timer: NodeJS.Timeout | undefined;
        let done!: (o: EntryOutcome) => void;
        const result = new Promise<EntryOutcome>((resolve) => (done = resolve));
        const list = this.waiters.get(id) ?? [];
        list.push(done);
        this.waiters.set(id, list);
        timer = setTimeout(() => done({ kind: 'queued' }), holdMs);
        const outcome = await result;
        clearTimeout(timer);
        const rest = (this.waiters.get(id) ?? []).filter((w) => w !== done);
        if (rest.length) this.waiters.set(id, rest);
        else this.waiters.delete(id);
        return outcome;
      },
    };
  }

  private settle(ids: readonly string[], outcome: EntryOutcome): void {
    for (const id of ids) {
      const list = this.waiters.get(id);
      this.waiters.delete(id);
      for (const w of list ?? []) w(outcome);
    }
  }

  /** Wakes the sender; a kick while it is busy (between its store read and its next sleep) is remembered, never lost. */
  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    if (w) w();
    else this.kicked = true;
  }

  /** Sleeps until kicked or `ms` passed; with the shared store never longer than a third of the lease (it is renewed each turn). */
  private idle(ms?: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      this.wakeAt = 0;
      return Promise.resolve();
    }
    const cap = this.shared ? Math.max(10, Math.min(this.deps.tuning.leaseMs / 3, this.deps.tuning.pollMs)) : undefined;
    const wait = ms === undefined ? cap : cap === undefined ? ms : Math.min(ms, cap);
    this.wakeAt = wait === undefined ? Infinity : Date.now() + wait;
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        if (timer) clearTimeout(timer);
        this.wakeAt = 0;
        resolve();
      };
      if (wait !== undefined) timer = setTimeout(() => this.kick(), Math.max(1, wait));
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // the store or a bug, not a robot answer: the notifications stay in the store; slow down
        this.failures++;
        this.retryAt = Date.now() + this.backoff();
        this.deps.log.error({ ...this.labels(), reason: redact(String((err as Error)?.stack ?? err), this.secrets()) }, 'relay error while sending; will retry');
        if (!this.stopped) await this.idle(this.retryAt - Date.now());
      }
    }
  }

  private async leaseTurn(): Promise<boolean> {
    const store = this.deps.store;
    const lease = await store.acquire(this.robot);
    const m = this.deps.metrics;
    if (!lease.held) {
      if (this.held) {
        this.held = false;
        m.leases.inc({ outcome: 'lost' });
        this.deps.log.warn({ ...this.labels() }, 'another relay replica sends for this robot now');
      }
      const s = await store.stats(this.robot);
      this.total = s.total;
      this.oldestAt = s.oldestAt;
      this.gauge();
      return false;
    }
    if (lease.fresh) {
      this.held = true;
      m.leases.inc({ outcome: 'acquired' });
      if (lease.orphaned.length > 0) {
        m.leases.inc({ outcome: 'taken_over' });
        const folded = await store.unclaim(this.robot, lease.orphaned);
        m.notifications.inc({ ...this.labels(), outcome: 'recovered' }, lease.orphaned.length);
        if (folded) m.notifications.inc({ ...this.labels(), outcome: 'superseded' }, folded);
        this.deps.log.warn({ ...this.labels(), notifications: lease.orphaned.length }, 'took over notifications a replica was sending when it stopped; sending them again');
      }
    }
    return true;
  }

  private async step(): Promise<void> {
    if (this.shared && !(await this.leaseTurn())) {
      await this.idle(this.deps.tuning.pollMs);
      return;
    }
    if (this.stopped) return;
    const store = this.deps.store;
    const companion = this.companions[0];
    if (!companion) {
      // cheap: count and age only; the payloads are read once a send is possible
      const s = await store.stats(this.robot);
      this.total = s.total;
      this.oldestAt = s.oldestAt;
      this.gauge();
      if (s.total === 0) {
        for (const id of this.measured.keys()) if (!this.waiters.has(id)) this.measured.delete(id);
        this.solo.clear();
        await this.idle(this.shared ? this.deps.tuning.pollMs : undefined);
        return;
      }
    }
    const backoffWait = this.retryAt - Date.now();
    if (backoffWait > 0) {
      await this.idle(backoffWait);
      return;
    }
    const { count, windowMs } = this.deps.rateLimit;
    const budget = store.budget(this.robot);
    const reservation = await budget.reserve(count, windowMs);
    if (!reservation.ok) {
      await this.idle(reservation.waitMs);
      return;
    }
    let entries: StoredEntry[] = [];
    if (!companion) entries = (await store.head(this.robot, HEAD_LIMIT)).entries;
    if (this.stopped || (!companion && entries.length === 0)) {
      await budget.cancel(reservation.token);
      return;
    }
    this.sending = true;
    try {
      if (companion) await this.sendCompanion(companion);
      else await this.sendBatch(entries);
    } finally {
      this.sending = false;
      // after the store update, so the window between the robot's answer and `complete` stays one round trip
      await budget.finish(reservation.token);
    }
  }

  private async call(req: RobotRequest): Promise<RobotOutcome> {
    const started = performance.now();
    const outcome = await postToRobot(req.url(Date.now()), req.body, this.deps.timeoutMs);
    this.deps.metrics.sendDuration.observe(this.labels(), (performance.now() - started) / 1000);
    return outcome;
  }

  private backoff(): number {
    const { retryBaseMs, retryMaxMs } = this.deps.tuning;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(Math.max(this.failures - 1, 0), 30));
    // "equal jitter": half fixed, half random, so retries of many robots spread out
    return ceiling / 2 + (this.deps.random ?? Math.random)() * (ceiling / 2);
  }

  private async sendCompanion(companion: RobotRequest): Promise<void> {
    const labels = this.labels();
    const outcome = await this.call(companion);
    if (outcome.kind === 'retry') {
      this.failures++;
      this.retryAt = Date.now() + this.backoff();
      this.deps.metrics.notifications.inc({ ...labels, outcome: 'retried' });
      this.deps.log.warn({ ...labels, reason: redact(outcome.reason, this.secrets()) }, 'robot did not take the mention message; retrying');
      return;
    }
    this.companions.shift();
    if (outcome.kind === 'ok') this.failures = 0;
    else this.deps.log.error({ ...labels, reason: redact(outcome.reason, this.secrets()) }, 'robot refused the mention message');
  }

  private renderOpts() {
    const t = this.deps.target;
    return {
      timeZone: this.deps.timeZone,
      maxBytes: t.maxBytes,
      mentionSuffix: t.mentionSuffix,
      ...t.render,
      ...(this.template ? { template: this.template } : {}),
    };
  }

  private render(entries: readonly StoredEntry[]): RenderedMessage {
    return renderMessage(mergePayloads(entries.map((e) => e.payload)), this.renderOpts());
  }

  /** Size of one entry rendered alone, and of its frame (the same rendering without alerts); cached per entry version. */
  private measure(e: StoredEntry): Measured {
    const cached = this.measured.get(e.id);
    if (cached && cached.bytes === e.bytes) return cached;
    const size = utf8Bytes(this.render([e]).text);
    const frame = utf8Bytes(renderMessage(mergePayloads([{ ...e.payload, alerts: [] }]), this.renderOpts()).text);
    const m = { bytes: e.bytes, size, frame: Math.min(frame, size) };
    this.measured.set(e.id, m);
    return m;
  }

  /**
   * The longest prefix of the queue that fits one message without cutting an
   * alert (at least one entry), chosen by measured sizes — each entry is
   * rendered alone once (cached), the digest estimate is the sum of the
   * entries' alert parts plus one frame — then rendered once; only when the
   * estimate was too optimistic does a binary search over shorter prefixes
   * follow. About O(n) renders of single entries instead of a render per
   * growing prefix.
   */
  private takeBatch(entries: readonly StoredEntry[]): { batch: StoredEntry[]; msg: RenderedMessage } {
    const first = entries[0]!;
    if (this.solo.has(first.id)) return { batch: [first], msg: this.render([first]) };
    const limit = this.deps.target.maxBytes - DIGEST_SLACK_BYTES;
    let n = 0;
    let estimate = 0;
    for (const e of entries) {
      if (this.solo.has(e.id)) break;
      const m = this.measure(e);
      const add = n === 0 ? m.size : m.size - m.frame;
      if (n > 0 && estimate + add > limit) break;
      estimate += add;
      n++;
    }
    let msg = this.render(entries.slice(0, n));
    if (msg.truncated && n > 1) {
      let lo = 1;
      let hi = n; // truncated
      let best = this.render(entries.slice(0, 1));
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        const r = this.render(entries.slice(0, mid));
        if (r.truncated) hi = mid;
        else {
          lo = mid;
          best = r;
        }
      }
      n = lo;
      msg = best;
    }
    return { batch: entries.slice(0, n), msg };
  }

  private async sendBatch(entries: readonly StoredEntry[]): Promise<void> {
    const log = this.deps.log;
    const labels = this.labels();
    const m = this.deps.metrics.notifications;
    const store = this.deps.store;
    const { batch, msg } = this.takeBatch(entries);
    const ids = batch.map((e) => e.id);
    if (msg.fallbackReason) {
      log.warn({ ...labels, template: this.deps.templatePath, reason: redact(msg.fallbackReason, this.secrets()) }, 'custom template failed to render; used the default template');
    }
    const [main, ...rest] = this.deps.target.requests(msg);
    await store.claim(this.robot, ids);
    let outcome: RobotOutcome;
    try {
      outcome = main ? await this.call(main) : { kind: 'ok' };
    } catch (err) {
      await store.unclaim(this.robot, ids);
      throw err;
    }

    if (outcome.kind === 'ok') {
      await store.complete(this.robot, ids);
      this.failures = 0;
      m.inc({ ...labels, outcome: 'sent' }, batch.length);
      if (batch.length > 1) m.inc({ ...labels, outcome: 'merged' }, batch.length - 1);
      if (msg.truncated) m.inc({ ...labels, outcome: 'truncated' });
      for (const id of ids) {
        this.solo.delete(id);
        this.measured.delete(id);
      }
      this.settle(ids, { kind: 'sent' });
      this.companions.push(...rest);
      this.total = Math.max(0, this.total - batch.length);
      if (this.total === 0) this.oldestAt = undefined;
      this.gauge();
      log.debug({ ...labels, notifications: batch.length, alerts: msg.total, shown: msg.shown }, 'robot message sent');
      return;
    }
    const reason = redact(outcome.reason, this.secrets());
    if (outcome.kind === 'retry') {
      const folded = await store.unclaim(this.robot, ids);
      if (folded) m.inc({ ...labels, outcome: 'superseded' }, folded);
      this.failures++;
      this.retryAt = Date.now() + this.backoff();
      m.inc({ ...labels, outcome: 'retried' });
      log.warn({ ...labels, reason, attempt: this.failures, retryInMs: Math.round(this.retryAt - Date.now()) }, 'robot call failed; will retry');
      return;
    }
    if (batch.length > 1) {
      // one bad notification must not fail the others it was merged with: send each alone
      const folded = await store.unclaim(this.robot, ids);
      if (folded) m.inc({ ...labels, outcome: 'superseded' }, folded);
      for (const id of ids) this.solo.add(id);
      log.warn({ ...labels, reason, ...(outcome.errcode !== undefined ? { errcode: outcome.errcode } : {}), notifications: batch.length }, 'robot refused a digest permanently; sending its notifications one by one');
      return;
    }
    await store.complete(this.robot, ids);
    this.solo.delete(ids[0]!);
    this.measured.delete(ids[0]!);
    this.total = Math.max(0, this.total - 1);
    this.gauge();
    m.inc({ ...labels, outcome: 'failed' });
    log.error(
      { ...labels, reason, ...(outcome.errcode !== undefined ? { errcode: outcome.errcode } : {}), notifications: 1, alerts: msg.total },
      'robot refused the message permanently; not retrying',
    );
    this.settle(ids, { kind: 'failed', reason: `robot refused the message: ${reason}` });
  }

  /**
   * Graceful shutdown: refuses new notifications, keeps delivering within the
   * rate limit until `deadlineMs` (ms from now), then stops. Nothing is
   * dropped: what is still queued stays in the store (sent after the next
   * start, or by another replica), HTTP requests still waiting are answered
   * `queued`, and the lease is released so another replica can take over at once.
   * @returns how many notifications stay in the store for this robot.
   */
  async close(deadlineMs: number): Promise<number> {
    if (this.stopped) return 0;
    this.closing = true;
    this.kick();
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      if (!this.sending) {
        if (this.total === 0 && this.companions.length === 0) break;
        if (this.shared && !this.held) break;
        // idle until after the deadline (rate budget or retry backoff): no point in waiting
        if (this.wakeAt !== 0 && this.wakeAt > deadline) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    this.kick();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 50))]);
    let left = this.total;
    try {
      left = (await this.deps.store.stats(this.robot)).total;
    } catch {
      // the count in the log is then the last known one
    }
    this.settle([...this.waiters.keys()], { kind: 'queued' });
    if (this.shared && this.held) {
      try {
        await this.deps.store.release(this.robot);
        this.deps.metrics.leases.inc({ outcome: 'released' });
      } catch {
        // the lease expires by itself
      }
      this.held = false;
    }
    if (left > 0) {
      this.deps.log.warn(
        { ...this.labels(), notifications: left, store: this.deps.store.kind },
        this.shared
          ? 'shutdown: notifications not yet delivered (rate limit) stay in the shared store; another replica or the next start sends them'
          : 'shutdown: notifications not yet delivered (rate limit) stay in the store; they are sent after the next start',
      );
    }
    return left;
  }
}
