/**
 * `queuescope generate` with the default parameters renders exactly the files
 * shipped in prometheus/, alertmanager/ and grafana/dashboards/; parameters
 * are validated; prefix, job and language reach every rule.
 *
 * After editing src/generate: `npx queuescope generate --out .` (or
 * `UPDATE_GENERATED=1 npx vitest run test/generate/generate.test.ts`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { concreteFmt, templateFmt } from '../../src/generate/annotation-text.js';
import { ALERTS } from '../../src/generate/alerts.js';
import { generateFiles } from '../../src/generate/index.js';
import { DEFAULT_PARAMS, GenerateParamError, resolveParams } from '../../src/generate/params.js';
import { prometheusRule } from '../../src/generate/prometheus.js';

const ROOT = resolve(import.meta.dirname, '../..');

type Rule = { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const rulesOf = (text: string): Rule[] => (parse(text) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('queuescope generate', () => {
  it('the shipped files are the default generation', () => {
    const files = generateFiles(resolveParams({}));
    expect(Object.keys(files).length).toBe(11);
    for (const [rel, text] of Object.entries(files)) {
      const path = join(ROOT, rel);
      if (process.env.UPDATE_GENERATED === '1') writeFileSync(path, text);
      expect(existsSync(path), `${rel} missing: run npx queuescope generate --out .`).toBe(true);
      expect(readFileSync(path, 'utf8'), `${rel} drifted from src/generate: run npx queuescope generate --out .`).toBe(text);
    }
  });

  it('--job, --alert-prefix and --lang reach every rule, the routing and the tests', () => {
    const files = generateFiles(resolveParams({ job: 'myjob', alertPrefix: 'Acme', lang: 'en', runbookBase: 'https://wiki.example.com/qs' }));
    const alerts = rulesOf(files['prometheus/rules/queuescope-alerts.yml']!);
    for (const a of alerts) {
      expect(a.alert).toMatch(/^Acme[A-Z]/);
      expect(a.expr).toContain('job="myjob"');
      expect(a.expr).not.toContain('job="queuescope"');
      expect(a.annotations?.runbook_url).toMatch(/^https:\/\/wiki\.example\.com\/qs#[a-z]+$/);
      expect(a.annotations?.summary).not.toMatch(/[\u4e00-\u9fff]/);
      expect(a.annotations?.description).not.toMatch(/[\u4e00-\u9fff]/);
    }
    expect(files['alertmanager/alertmanager.yml']).toContain('alertname="AcmeQueuescopeRedisDown"');
    expect(files['alertmanager/alertmanager.yml']).toContain('AcmeQueueBacklogHigh|');
    expect(files['prometheus/prometheus.yml']).toContain('job_name: myjob');
    expect(files['prometheus/tests/queues.test.yml']).toContain('alertname: AcmeQueueBacklogHigh');
    expect(files['prometheus/tests/queues.test.yml']).toContain('job="myjob"');
  });

  it('--severity changes single-level alerts only; --threshold reaches the expressions and texts, and drops the tests built on the default', () => {
    const p = resolveParams({ severities: { QueueBacklogGrowing: 'critical' }, thresholds: { failureRatio: 0.1 } });
    const files = generateFiles(p);
    const alerts = rulesOf(files['prometheus/rules/queuescope-alerts.yml']!);
    expect(alerts.find((a) => a.alert === 'QueueBacklogGrowing')?.labels?.severity).toBe('critical');
    const failure = alerts.find((a) => a.alert === 'QueueFailureRateHigh')!;
    expect(failure.expr).toContain('> 0.1');
    expect(failure.annotations?.description).toContain('超过 10%');
    expect(files['prometheus/tests/queues.test.yml']).toContain('# skipped (their data assume the default thresholds): QueueFailureRateHigh');
    expect(files['prometheus/tests/queues.test.yml']).not.toContain('alertname: QueueFailureRateHigh');
  });

  it('refuses bad parameters with the parameter named', () => {
    expect(() => resolveParams({ job: 'a"b' })).toThrow(GenerateParamError);
    expect(() => resolveParams({ job: 'a"b' })).toThrow(/--job/);
    expect(() => resolveParams({ alertPrefix: 'lower' })).toThrow(/--alert-prefix/);
    expect(() => resolveParams({ lang: 'fr' as 'en' })).toThrow(/--lang/);
    expect(() => resolveParams({ thresholds: { failureRatio: Number.NaN } })).toThrow(/--threshold failureRatio/);
    expect(() => resolveParams({ severities: { X: 'page' as 'critical' } })).toThrow(/--severity X/);
    expect(() => resolveParams({ relayURL: 'ftp://x' })).toThrow(/--relay-url/);
  });

  it('every alert has both languages, and the texts render the same way for rules and tests', () => {
    for (const a of ALERTS) {
      for (const lang of ['zh', 'en'] as const) {
        const ctx = { sel: 'job="queuescope"', t: DEFAULT_PARAMS.thresholds, lang };
        const tpl = a.text[lang](templateFmt, ctx);
        expect(tpl.summary.length, `${a.name} ${lang}`).toBeGreaterThan(5);
        // the concrete rendering replaces every template action
        const concrete = a.text[lang](concreteFmt({ queue: 'q', framework: 'list', instance: 'i', job: 'j', stream: 's', group: 'g', component: 'c', channel: 'dingtalk', target: 'ops', collector: 'redis' }, { value: 'V', threshold: 'T', dead: 'D', heartbeatAge: 'H' }), ctx);
        expect(concrete.summary + concrete.description, `${a.name} ${lang}`).not.toContain('{{');
      }
    }
  });

  it('--format prometheusrule wraps the same groups in a PrometheusRule', () => {
    const p = resolveParams({ job: 'myjob' });
    const doc = parse(prometheusRule(p, { namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } })) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      spec: { groups: { name: string; rules: Rule[] }[] };
    };
    expect(doc).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'queuescope', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } } });
    const files = generateFiles(p);
    const fromFiles = [...rulesOf(files['prometheus/rules/queuescope-recording.yml']!), ...rulesOf(files['prometheus/rules/queuescope-alerts.yml']!)];
    expect(doc.spec.groups.flatMap((g) => g.rules)).toEqual(fromFiles);
  });

  it('every runbook anchor is an anchor of the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const a of ALERTS) expect(readme, `${a.name}: README needs <a id="${a.anchor}">`).toContain(`<a id="${a.anchor}"></a>`);
  });
});
