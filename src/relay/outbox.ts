/**
 * The outbox of one robot: a FIFO of accepted notifications, a sliding-window
 * rate limit, digest merging, retries with backoff and jitter, and the
 * graceful-shutdown hand-back.
 *
 * One call to the robot is in flight at a time. When the rate budget is
 * spent, notifications wait; when a slot opens, as many queued notifications
 * as fit in one message (without cutting any alert) are merged into a digest.
 */
import { readFileSync } from 'node:fs';
import { compileTemplate, type CompiledTemplate } from './template.js';
import { mergePayloads, renderMessage, type RenderedMessage } from './render.js';
import { postToRobot, type ChannelTarget, type RobotOutcome, type RobotRequest } from './robots.js';
import { SlidingWindowLimiter } from './rate-limit.js';
import { redact, urlSecrets } from './text.js';
import { NOTIFICATION_OUTCOMES, type RelayMetrics } from './metrics.js';
import type { WebhookPayload } from './payload.js';

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
  /** the robot refused it for good (permanent errcode) or shutdown came first */
  | { kind: 'failed'; reason: string }
  /** shutdown: given back to Alertmanager (answer 5xx so it retries elsewhere / later) */
  | { kind: 'handed-back' }
  /** still queued when the hold time ran out: the outbox now owns it */
  | { kind: 'queued' };

/** Thrown by {@link Outbox.enqueue} when a notification cannot be accepted (answer 5xx). */
export class NotAcceptedError extends Error {
  override readonly name = 'NotAcceptedError';
}

/** Timing knobs (all milliseconds); defaults in {@link DEFAULT_TUNING}. */
export interface OutboxTuning {
  /** how long the HTTP request waits for delivery before answering 202 (keep below Alertmanager's 10 s minimum notify timeout) */
  holdMs: number;
  /** queued notifications per robot before new ones get 503 */
  maxQueued: number;
  /** first retry delay; doubles per consecutive failure */
  retryBaseMs: number;
  /** retry delay cap */
  retryMaxMs: number;
}

/** Production defaults: hold 5 s, 1000 queued per robot, retries from 1 s doubling up to 60 s. */
export const DEFAULT_TUNING: OutboxTuning = { holdMs: 5000, maxQueued: 1000, retryBaseMs: 1000, retryMaxMs: 60_000 };

interface Entry {
  readonly payload: WebhookPayload;
  /** true once the HTTP request was answered 202: the outbox alone owns it */
  acknowledged: boolean;
  settled: boolean;
  settle(outcome: EntryOutcome): void;
  readonly result: Promise<EntryOutcome>;
}

/** A handle on an accepted notification. */
export interface Accepted {
  /**
   * Resolves with the outcome, or `queued` after `holdMs` (the notification
   * then stays in the outbox and is delivered later).
   */
  wait(holdMs: number): Promise<EntryOutcome>;
}

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
  /** injectable randomness for jitter, [0, 1) */
  random?: () => number;
}

/** The outbox of one robot (one `channel/target`). */
export class Outbox {
  private readonly queue: Entry[] = [];
  private readonly companions: RobotRequest[] = [];
  private readonly limiter: SlidingWindowLimiter;
  private deps: OutboxDeps;
  private template: CompiledTemplate | undefined;
  private failures = 0;
  private retryAt = 0;
  private inFlight: Promise<void> | undefined;
  private closing = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(deps: OutboxDeps) {
    this.deps = deps;
    this.limiter = new SlidingWindowLimiter(deps.rateLimit.count, deps.rateLimit.windowMs);
    this.template = this.loadTemplate(deps.templatePath);
    this.gauge();
    for (const outcome of NOTIFICATION_OUTCOMES) {
      deps.metrics.notifications.inc({ ...this.labels(), outcome }, 0);
    }
    this.loop = this.run();
  }

  private labels(): { channel: string; target: string } {
    return { channel: this.deps.target.channel, target: this.deps.target.target };
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

  /** Applies a new target config / rate limit / time zone (after a config reload). The limiter keeps its history. */
  update(deps: Omit<OutboxDeps, 'metrics' | 'log'>): void {
    const templateChanged = deps.templatePath !== this.deps.templatePath;
    this.deps = { ...this.deps, ...deps };
    if (templateChanged) this.template = this.loadTemplate(deps.templatePath);
    this.limiter.count = deps.rateLimit.count;
    this.limiter.windowMs = deps.rateLimit.windowMs;
  }

  /** Notifications waiting (not counting the one in flight). */
  get length(): number {
    return this.queue.length;
  }

  private gauge(): void {
    this.deps.metrics.queueLength.set(this.labels(), this.queue.length);
  }

  /**
   * Accepts a notification.
   * @throws NotAcceptedError when the outbox is full or shutting down.
   */
  enqueue(payload: WebhookPayload): Accepted {
    if (this.closing) throw new NotAcceptedError('shutting down');
    if (this.queue.length >= this.deps.tuning.maxQueued) {
      throw new NotAcceptedError(`${this.queue.length} notifications already wait for this robot`);
    }
    let resolve!: (o: EntryOutcome) => void;
    const result = new Promise<EntryOutcome>((r) => (resolve = r));
    const entry: Entry = {
      payload,
      acknowledged: false,
      settled: false,
      result,
      settle(o) {
        if (this.settled) return;
        this.settled = true;
        resolve(o);
      },
    };
    this.queue.push(entry);
    this.gauge();
    this.kick();
    return {
      wait: async (holdMs) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<EntryOutcome>((r) => {
          timer = setTimeout(() => r({ kind: 'queued' }), holdMs);
        });
        const outcome = await Promise.race([result, timeout]);
        clearTimeout(timer);
        if (outcome.kind === 'queued') entry.acknowledged = true;
        return outcome;
      },
    };
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private idle(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.kick(), ms);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.queue.length === 0 && this.companions.length === 0) {
        await this.idle();
        continue;
      }
      const wait = Math.max(this.retryAt - Date.now(), this.limiter.delayMs());
      if (wait > 0) {
        await this.idle(wait);
        continue;
      }
      const p = this.sendNext();
      this.inFlight = p;
      try {
        await p;
      } catch (err) {
        // a bug, not a robot answer: keep the notifications (sendNext put them back) and slow down
        this.failures++;
        this.retryAt = Date.now() + this.backoff();
        this.deps.log.error({ ...this.labels(), reason: redact(String((err as Error)?.stack ?? err), this.secrets()) }, 'relay error while sending; will retry');
      }
      this.inFlight = undefined;
    }
  }

  /** Takes the longest prefix of the queue that renders without cutting an alert (at least one notification). */
  private takeBatch(): { entries: Entry[]; msg: RenderedMessage } {
    const t = this.deps.target;
    const render = (entries: Entry[]): RenderedMessage =>
      renderMessage(mergePayloads(entries.map((e) => e.payload)), {
        timeZone: this.deps.timeZone,
        maxBytes: t.maxBytes,
        mentionSuffix: t.mentionSuffix,
        ...t.render,
        ...(this.template ? { template: this.template } : {}),
      });
    let n = 1;
    let msg = render(this.queue.slice(0, 1));
    while (!msg.truncated && n < this.queue.length) {
      const next = render(this.queue.slice(0, n + 1));
      if (next.truncated) break;
      msg = next;
      n++;
    }
    const entries = this.queue.splice(0, n);
    this.gauge();
    return { entries, msg };
  }

  private async call(req: RobotRequest): Promise<RobotOutcome> {
    const started = performance.now();
    const outcome = await postToRobot(req.url(Date.now()), req.body, this.deps.timeoutMs);
    this.limiter.record();
    this.deps.metrics.sendDuration.observe(this.labels(), (performance.now() - started) / 1000);
    return outcome;
  }

  private backoff(): number {
    const { retryBaseMs, retryMaxMs } = this.deps.tuning;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failures - 1, 30));
    // "equal jitter": half fixed, half random, so retries of many robots spread out
    return ceiling / 2 + (this.deps.random ?? Math.random)() * (ceiling / 2);
  }

  private async sendNext(): Promise<void> {
    const log = this.deps.log;
    const labels = this.labels();
    const m = this.deps.metrics.notifications;

    const companion = this.companions[0];
    if (companion) {
      const outcome = await this.call(companion);
      if (outcome.kind === 'retry' && !this.closing) {
        this.failures++;
        this.retryAt = Date.now() + this.backoff();
        m.inc({ ...labels, outcome: 'retried' });
        log.warn({ ...labels, reason: redact(outcome.reason, this.secrets()) }, 'robot did not take the mention message; retrying');
        return;
      }
      this.companions.shift();
      if (outcome.kind === 'ok') this.failures = 0;
      else log.error({ ...labels, reason: redact(outcome.reason, this.secrets()) }, 'robot refused the mention message');
      return;
    }

    const { entries, msg } = this.takeBatch();
    try {
      await this.deliver(entries, msg);
    } catch (err) {
      const open = entries.filter((e) => !e.settled);
      this.queue.unshift(...open);
      this.gauge();
      throw err;
    }
  }

  private async deliver(entries: Entry[], msg: RenderedMessage): Promise<void> {
    const log = this.deps.log;
    const labels = this.labels();
    const m = this.deps.metrics.notifications;
    if (msg.fallbackReason) {
      log.warn({ ...labels, template: this.deps.templatePath, reason: redact(msg.fallbackReason, this.secrets()) }, 'custom template failed to render; used the default template');
    }
    const [main, ...rest] = this.deps.target.requests(msg);
    const outcome: RobotOutcome = main ? await this.call(main) : { kind: 'ok' };

    if (outcome.kind === 'ok') {
      this.failures = 0;
      m.inc({ ...labels, outcome: 'sent' }, entries.length);
      if (entries.length > 1) m.inc({ ...labels, outcome: 'merged' }, entries.length - 1);
      if (msg.truncated) m.inc({ ...labels, outcome: 'truncated' });
      for (const e of entries) e.settle({ kind: 'sent' });
      this.companions.push(...rest);
      log.debug({ ...labels, notifications: entries.length, alerts: msg.total, shown: msg.shown }, 'robot message sent');
      return;
    }
    const reason = redact(outcome.reason, this.secrets());
    if (outcome.kind === 'retry') {
      this.failures++;
      this.retryAt = Date.now() + this.backoff();
      m.inc({ ...labels, outcome: 'retried' });
      log.warn({ ...labels, reason, attempt: this.failures, retryInMs: Math.round(this.retryAt - Date.now()) }, 'robot call failed; will retry');
      // back to the front, in order, so they can merge with newer ones; while closing, give the unanswered ones back
      const back = this.closing ? entries.filter((e) => e.acknowledged) : entries;
      if (this.closing) for (const e of entries) if (!e.acknowledged) e.settle({ kind: 'handed-back' });
      if (this.stopped) {
        // the shutdown deadline passed while this call was in flight
        m.inc({ ...labels, outcome: 'failed' }, back.length);
        if (back.length) log.error({ ...labels, notifications: back.length }, 'shutdown: notifications could not be delivered in time; they are lost');
        for (const e of back) e.settle({ kind: 'failed', reason: 'shutdown' });
        return;
      }
      this.queue.unshift(...back);
      this.gauge();
      return;
    }
    m.inc({ ...labels, outcome: 'failed' }, entries.length);
    log.error(
      { ...labels, reason, ...(outcome.errcode !== undefined ? { errcode: outcome.errcode } : {}), notifications: entries.length, alerts: msg.total },
      'robot refused the message permanently; not retrying',
    );
    for (const e of entries) e.settle({ kind: 'failed', reason: `robot refused the message: ${reason}` });
  }

  /**
   * Graceful shutdown: refuses new notifications, hands back the ones whose
   * HTTP request is still waiting (their answer becomes 503, so Alertmanager
   * keeps them), delivers the acknowledged ones within the rate limit until
   * `deadlineMs` (ms from now), then gives up on what is left — logged as an
   * error and counted as failed.
   * @returns how many notifications could not be delivered.
   */
  async close(deadlineMs: number): Promise<number> {
    if (this.stopped) return 0;
    this.closing = true;
    const kept: Entry[] = [];
    for (const e of this.queue.splice(0)) {
      if (e.acknowledged) kept.push(e);
      else e.settle({ kind: 'handed-back' });
    }
    this.queue.push(...kept);
    this.gauge();
    const deadline = Date.now() + deadlineMs;
    while ((this.queue.length > 0 || this.inFlight) && Date.now() < deadline) {
      if (this.inFlight) {
        await Promise.race([this.inFlight, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
      } else {
        const wait = Math.max(this.retryAt - Date.now(), this.limiter.delayMs());
        if (wait >= deadline - Date.now()) break;
        this.kick();
        await new Promise((r) => setTimeout(r, Math.max(1, wait)));
      }
    }
    this.stopped = true;
    this.kick();
    const lost = this.queue.splice(0);
    this.gauge();
    if (lost.length > 0) {
      this.deps.metrics.notifications.inc({ ...this.labels(), outcome: 'failed' }, lost.length);
      this.deps.log.error({ ...this.labels(), notifications: lost.length }, 'shutdown: notifications could not be delivered in time (rate limit); they are lost');
      for (const e of lost) e.settle({ kind: 'failed', reason: 'shutdown' });
    }
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    return lost.length;
  }
}
