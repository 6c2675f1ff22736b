/**
 * Producers and consumers that report on themselves through Redis keys
 * (shared/spec/frameworks.md, "Heartbeats and counters"): a heartbeat STRING
 * (unix s or ms), an integer counter, the last duration (ms) and a LIST of
 * recent durations (ms). One GET/LRANGE per key, all in the first batch.
 */
import type { ComponentConfig } from '../config/schema.js';
import { array, numericString, parseNumber, readEach, toUnixMs, type ReplyReader } from './replies.js';
import type { Command, ReadStep, RedisCollector } from './types.js';

export class ComponentsCollector implements RedisCollector {
  readonly name = 'components';

  constructor(private readonly components: () => readonly ComponentConfig[]) {}

  plan(nowMs: number): ReadStep[] {
    return this.components().map((c) => componentStep(c, nowMs));
  }
}

function componentStep(c: ComponentConfig, nowMs: number): ReadStep {
  const labels = { component: c.name };
  const commands: Command[] = [['GET', c.heartbeat]];
  const readers: ReplyReader[] = [
    (r, sink) => {
      let ts: number | undefined;
      try {
        const raw = numericString(r, `GET ${c.heartbeat}`);
        ts = raw === undefined ? undefined : toUnixMs(raw);
      } finally {
        // A missing or unreadable heartbeat means the component is not known to be up.
        const up = ts !== undefined && nowMs - ts < c.staleAfter;
        sink.add('queue_component_up', labels, up ? 1 : 0);
      }
      if (ts === undefined) return;
      sink.add('queue_component_heartbeat_timestamp_seconds', labels, ts / 1000);
      sink.add('queue_component_heartbeat_age_seconds', labels, Math.max(0, (nowMs - ts) / 1000));
    },
  ];
  if (c.total) {
    const key = c.total;
    commands.push(['GET', key]);
    readers.push((r, sink) => {
      const n = numericString(r, `GET ${key}`);
      sink.add('queue_component_items_total', labels, n ?? 0);
    });
  }
  if (c.lastDuration) {
    const key = c.lastDuration;
    commands.push(['GET', key]);
    readers.push((r, sink) => {
      const ms = numericString(r, `GET ${key}`);
      if (ms !== undefined) sink.add('queue_component_last_duration_seconds', labels, ms / 1000);
    });
  }
  if (c.durations) {
    const key = c.durations;
    commands.push(['LRANGE', key, 0, -1]);
    readers.push((r, sink) => {
      const items = array(r, `LRANGE ${key}`);
      if (items.length === 0) return;
      let sum = 0;
      for (const item of items) sum += parseNumber(item, `LRANGE ${key}`);
      sink.add('queue_component_recent_duration_seconds', labels, sum / items.length / 1000);
    });
  }
  return { commands, read: (replies, sink) => readEach(readers, replies, sink) };
}
