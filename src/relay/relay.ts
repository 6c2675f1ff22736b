/**
 * The relay: one {@link Outbox} per configured robot (`dingtalk/<target>`,
 * `wecom/<target>`). Only configured targets exist; the relay never takes a
 * robot URL from a request.
 */
import type { Registry } from 'prom-client';
import type { NotifyConfig } from '../config/schema.js';
import { relayMetrics, type RelayMetrics } from './metrics.js';
import { DEFAULT_TUNING, Outbox, type OutboxDeps, type OutboxTuning, type RelayLogger } from './outbox.js';
import { dingtalkTarget, wecomTarget, type ChannelName, type ChannelTarget } from './robots.js';

/** Options of {@link Relay}. */
export interface RelayOptions {
  notify: NotifyConfig;
  registry: Registry;
  log: RelayLogger;
  /** timing knobs, ms (tests shorten them) */
  tuning?: Partial<OutboxTuning>;
  /** how long shutdown may spend delivering acknowledged notifications, ms (default 5000) */
  shutdownMs?: number;
}

function targetsOf(notify: NotifyConfig): Map<string, { target: ChannelTarget; templatePath: string }> {
  const out = new Map<string, { target: ChannelTarget; templatePath: string }>();
  for (const [name, cfg] of Object.entries(notify.dingtalk)) out.set(`dingtalk/${name}`, { target: dingtalkTarget(name, cfg, notify), templatePath: cfg.template });
  for (const [name, cfg] of Object.entries(notify.wecom)) out.set(`wecom/${name}`, { target: wecomTarget(name, cfg, notify), templatePath: cfg.template });
  return out;
}

/** The set of robot outboxes, reconfigurable on reload. */
export class Relay {
  private readonly outboxes = new Map<string, Outbox>();
  private readonly metrics: RelayMetrics;
  private notify: NotifyConfig;
  readonly tuning: OutboxTuning;
  private readonly shutdownMs: number;
  private closed: Promise<void> | undefined;

  constructor(private readonly opts: RelayOptions) {
    this.metrics = relayMetrics(opts.registry);
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.shutdownMs = opts.shutdownMs ?? 5000;
    this.notify = opts.notify;
    this.apply(opts.notify);
  }

  private depsFor(entry: { target: ChannelTarget; templatePath: string }, notify: NotifyConfig): Omit<OutboxDeps, 'metrics' | 'log'> {
    return {
      target: entry.target,
      templatePath: entry.templatePath,
      timeZone: notify.timeZone,
      rateLimit: notify.rateLimit,
      timeoutMs: notify.timeout,
      tuning: this.tuning,
    };
  }

  private apply(notify: NotifyConfig): void {
    const wanted = targetsOf(notify);
    for (const [key, entry] of wanted) {
      const deps = this.depsFor(entry, notify);
      const existing = this.outboxes.get(key);
      if (existing) existing.update(deps);
      else this.outboxes.set(key, new Outbox({ ...deps, metrics: this.metrics, log: this.opts.log }));
    }
    for (const [key, outbox] of this.outboxes) {
      if (!wanted.has(key)) {
        this.outboxes.delete(key);
        void outbox.close(this.shutdownMs);
      }
    }
  }

  /**
   * Applies a reloaded `notify` config: new targets start, removed ones
   * finish what they hold (bounded by the shutdown time) and disappear,
   * changed ones pick up the new URL / secret / mentions / template.
   */
  reconfigure(notify: NotifyConfig): void {
    if (this.closed) return;
    this.notify = notify;
    this.apply(notify);
  }

  /** The outbox of a configured target, or undefined (→ 404). */
  outbox(channel: ChannelName, target: string): Outbox | undefined {
    return Object.prototype.hasOwnProperty.call(channel === 'dingtalk' ? this.notify.dingtalk : this.notify.wecom, target)
      ? this.outboxes.get(`${channel}/${target}`)
      : undefined;
  }

  /**
   * Shuts every outbox down in parallel (see {@link Outbox.close}); bounded by
   * the shutdown time. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= Promise.all([...this.outboxes.values()].map((o) => o.close(this.shutdownMs))).then(() => undefined);
    return this.closed;
  }
}
