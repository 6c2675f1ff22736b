/**
 * Bridges prom-client's registry into the engine's exposition writer, so one
 * writer renders a whole page in either format (prom-client registries are
 * fixed to one content type at creation).
 */
import type { Registry } from 'prom-client';
import type { Family, Sample } from '../collect/family.js';
import type { MetricType } from '../collect/types.js';

interface MetricJson {
  name: string;
  help: string;
  type: string;
  values: { labels: Record<string, string | number | undefined>; value: number; metricName?: string }[];
}

/**
 * Reads every metric of `registry` (running its collect callbacks) as families.
 * A metric whose collect throws is left out instead of failing the scrape
 * (prom-client's own `metrics()` would reject the whole page).
 */
export async function familiesFromRegistry(registry: Registry): Promise<Family[]> {
  const out: Family[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    let json: MetricJson;
    try {
      json = (await metric.get()) as unknown as MetricJson;
    } catch {
      continue;
    }
    const type = json.type as string;
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named like
    // counters and repeat the sum of their per-type series: promtool flags both, so they go.
    if (type !== 'counter' && json.name.endsWith('_total')) continue;
    const famType: MetricType = type === 'counter' ? 'counter' : type === 'histogram' ? 'histogram' : 'gauge';
    const samples: Sample[] = json.values.map((v) => {
      const labels: Record<string, string> = {};
      for (const [k, val] of Object.entries(v.labels)) if (val !== undefined) labels[k] = String(val);
      const metricName = v.metricName;
      return metricName && metricName !== json.name ? { labels, value: v.value, name: metricName } : { labels, value: v.value };
    });
    out.push({ name: json.name, type: famType, help: json.help, samples });
  }
  return out;
}
