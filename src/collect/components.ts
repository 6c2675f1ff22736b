/**
 * Producers and consumers that report on themselves through Redis keys
 * (shared/spec/frameworks.md, "Heartbeats and counters"): a heartbeat STRING
 * (unix s or ms), an integer counter, the last duration (ms) and a LIST of
 * recent durations (ms). One GET/LRANGE per key, all in the first batch.
 */
import type { ComponentConfig } from '../config/schema.js';
import type { Reply } from '../redis/command.js';
import { array, attempt, counterValue, numericString, parseNumber, toUnixMs } from './replies.js';
import type { PlannedCommand, ReadStep, RedisCollector, SampleSink } from './types.js';

export class ComponentsCollector implements RedisCollector {
  readonly name = 'components';
  private planned: { components: readonly ComponentConfig[]; steps: ReadStep[] } | undefined;

  constructor(private readonly components: () => readonly ComponentConfig[]) {}

  steps(): readonly ReadStep[] {
    const components = this.components();
    if (this.planned?.components !== components) this.planned = { components, steps: components.map(componentStep) };
    return this.planned.steps;
  }
}

/** Which optional key a reply after the heartbeat's belongs to. */
type Extra = 'total' | 'lastDuration' | 'durations';

function componentStep(c: ComponentConfig): ReadStep {
  const labels = { component: c.name };
  const commands: PlannedCommand[] = [['GET', c.heartbeat]];
  const extras: Extra[] = [];
  if (c.total) {
    commands.push(['GET', c.total]);
    extras.push('total');
  }
  if (c.lastDuration) {
    commands.push(['GET', c.lastDuration]);
    extras.push('lastDuration');
  }
  if (c.durations) {
    commands.push(['LRANGE', c.durations, 0, -1]);
    extras.push('durations');
  }
  return {
    commands,
    read(replies, sink, nowMs) {
      readHeartbeat(replies[0], c, labels, sink, nowMs);
      extras.forEach((extra, i) => {
        const r = replies[1 + i];
        if (extra === 'total') {
          const n = attempt(sink, counterValue, r, `GET ${c.total}`);
          if (n !== undefined) sink.add('queue_component_items_total', labels, n);
        } else if (extra === 'lastDuration') {
          const ms = attempt(sink, numericString, r, `GET ${c.lastDuration}`);
          if (ms !== undefined) sink.add('queue_component_last_duration_seconds', labels, ms / 1000);
        } else {
          const mean = attempt(sink, meanDurationMs, r, `LRANGE ${c.durations}`);
          if (mean !== undefined) sink.add('queue_component_recent_duration_seconds', labels, mean / 1000);
        }
      });
      return undefined;
    },
  };
}

/** Heartbeat → up, timestamp and age. A missing or unreadable heartbeat means the component is not known to be up. */
function readHeartbeat(reply: Reply | undefined, c: ComponentConfig, labels: { component: string }, sink: SampleSink, nowMs: number): void {
  const raw = attempt(sink, numericString, reply, `GET ${c.heartbeat}`);
  const ts = raw === undefined ? undefined : toUnixMs(raw);
  const up = ts !== undefined && nowMs - ts < c.staleAfter;
  sink.add('queue_component_up', labels, up ? 1 : 0);
  if (ts === undefined) return;
  sink.add('queue_component_heartbeat_timestamp_seconds', labels, ts / 1000);
  sink.add('queue_component_heartbeat_age_seconds', labels, Math.max(0, (nowMs - ts) / 1000));
}

/** Mean of a LRANGE of durations, ms; undefined for an empty list. */
function meanDurationMs(reply: Reply | undefined, what: string): number | undefined {
  const items = array(reply, what);
  if (items.length === 0) return undefined;
  let sum = 0;
  for (const item of items) sum += parseNumber(item, what);
  return sum / items.length;
}
