/**
 * The shipped Prometheus and Alertmanager files, checked with the real tools:
 * `promtool check config`, `promtool check rules`, `promtool test rules`,
 * `amtool check-config`, `amtool config routes test`; plus the contract of
 * shared/spec/alerting.md that the tools cannot check (every alert of the
 * spec's table exists, is tested firing and silent, carries severity,
 * summary and description; receivers point at the relay).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/binaries.js';
import { REPO } from './stack.js';

const SPEC_ALERTS = [
  'QueueBacklogHigh',
  'QueueBacklogGrowing',
  'QueueLatencyHigh',
  'QueueFailureRateHigh',
  'QueueDeadLettersIncreasing',
  'StreamConsumerGroupStalled',
  'ComponentDown',
  // prefixed: redis-mixin's RedisDown and mysqld-mixin's MySQLDown are other exporters' alerts
  'QueuescopeRedisDown',
  'QueuescopeMySQLDown',
  'MySQLConnectionsNearLimit',
  'MySQLSlowQueries',
  'QueuescopeCollectorFailing',
  'QueuescopeNotificationsFailing',
  'QueuescopeNotificationsUndelivered',
  'QueueTasksStuck',
];

const run = (bin: string, args: string[]): string => execFileSync(bin, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ymls = (sub: string) => readdirSync(join(REPO, sub)).filter((f) => f.endsWith('.yml')).map((f) => join(sub, f));

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules: Rule[] = ymls('prometheus/rules').flatMap((f) => (parse(readFileSync(join(REPO, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));
const alerts = rules.filter((r) => r.alert);

describe('prometheus/ with promtool', () => {
  const promtool = findBinary('promtool', 'prometheus');

  it('promtool check config prometheus/prometheus.yml', () => {
    const out = run(promtool, ['check', 'config', 'prometheus/prometheus.yml']);
    expect(out).toMatch(/SUCCESS: 2 rule files found/);
    const cfg = parse(readFileSync(join(REPO, 'prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]; alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] }; rule_files: string[] };
    const job = cfg.scrape_configs.find((j) => j.job_name === 'queuescope');
    expect(job?.static_configs[0]?.targets).toEqual(['queuescope:9640']);
    expect(cfg.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['alertmanager:9093']);
    expect(cfg.rule_files).toEqual(['rules/*.yml']);
  });

  it('promtool check rules', () => {
    expect(run(promtool, ['check', 'rules', ...ymls('prometheus/rules')])).toMatch(/SUCCESS/);
  });

  it('promtool test rules passes', () => {
    const out = run(promtool, ['test', 'rules', ...ymls('prometheus/tests')]);
    expect(out).not.toMatch(/FAILED/);
    expect(out.match(/SUCCESS/g)?.length).toBe(ymls('prometheus/tests').length);
  });

  it('every alert of the spec exists, with severity, summary and description', () => {
    const names = new Set(alerts.map((a) => a.alert));
    for (const name of SPEC_ALERTS) expect(names, name).toContain(name);
    for (const a of alerts) {
      expect(['critical', 'warning'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
    }
  });

  it('thresholds come from the exported gauges: per queue (joined on instance, job, queue, framework), else the default (joined on instance, job)', () => {
    for (const name of ['QueueBacklogHigh', 'QueueBacklogGrowing']) {
      for (const a of alerts.filter((r) => r.alert === name)) {
        expect(a.expr).toMatch(/on\(instance, job, queue, framework\) group_left\(\)\s*\(?(2 \* )?queue_backlog_threshold/);
        expect(a.expr).toMatch(/unless on\(instance, job, queue, framework\) queue_backlog_threshold/);
        expect(a.expr).toMatch(/on\(instance, job\) group_left\(\)\s*\(?(2 \* )?queue_default_backlog_threshold/);
      }
    }
    for (const a of alerts.filter((r) => r.alert === 'QueueLatencyHigh')) {
      expect(a.expr).toMatch(/on\(instance, job, queue, framework\) group_left\(\)\s*\(?(2 \* )?queue_latency_threshold_seconds/);
      expect(a.expr).toMatch(/on\(instance, job\) group_left\(\)\s*\(?(2 \* )?queue_default_latency_threshold_seconds/);
    }
    expect(rules.map((r) => r.record)).toEqual(expect.arrayContaining(['queue:queue_processed:rate5m', 'queue:queue_failure_ratio:rate5m']));
  });

  it('every rule selects the job (two queuescope jobs, or another exporter\'s redis_up, never mix)', () => {
    for (const r of rules) {
      const selectors = r.expr.match(/\b[a-z0-9_:]+\{[^}]*\}/g) ?? [];
      // metric names (and recording rules) outside any selector: strip selectors and strings first
      const stripped = r.expr.replace(/\{[^}]*\}/g, '{}').replace(/"[^"]*"/g, '""');
      const bare = [...stripped.matchAll(/(?<![\w:])((?:queue|queuescope|redis|mysql)_[a-z0-9_]+|up|[a-z]+:[a-z_]+:[a-z0-9]+)(?![\w:{])/g)].map((m) => m[1]);
      expect(selectors.length, r.alert ?? r.record).toBeGreaterThan(0);
      for (const sel of selectors) expect(sel, `${r.alert ?? r.record}: ${sel}`).toMatch(/job="queuescope"/);
      expect(bare, r.alert ?? r.record).toEqual([]);
    }
  });

  it('every alert has a promtool case where it fires (labels + annotations asserted) and one where it stays silent', () => {
    type Case = { alertname: string; exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] };
    const cases: Case[] = ymls('prometheus/tests').flatMap((f) =>
      (parse(readFileSync(join(REPO, f), 'utf8')) as { tests: { alert_rule_test?: Case[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []),
    );
    for (const name of new Set(alerts.map((a) => a.alert!))) {
      const mine = cases.filter((c) => c.alertname === name);
      const firing = mine.filter((c) => (c.exp_alerts ?? []).length > 0);
      expect(firing.length, `${name} firing case`).toBeGreaterThan(0);
      for (const c of firing) {
        for (const e of c.exp_alerts ?? []) {
          expect(e.exp_labels?.severity, `${name} severity asserted`).toBeTruthy();
          expect(e.exp_annotations?.summary, `${name} summary asserted`).toBeTruthy();
          expect(e.exp_annotations?.description, `${name} description asserted`).toBeTruthy();
        }
      }
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} silent case`).toBe(true);
    }
  });
});

describe('alertmanager/ with amtool', () => {
  const amtool = findBinary('amtool', 'prometheus-alertmanager');
  const cfgFile = 'alertmanager/alertmanager.yml';

  it('amtool check-config passes', () => {
    expect(run(amtool, ['check-config', cfgFile])).toMatch(/SUCCESS/);
  });

  it('routes by severity', () => {
    const route = (...labels: string[]) => run(amtool, ['config', 'routes', 'test', `--config.file=${cfgFile}`, ...labels]).trim();
    expect(route('severity=critical', 'alertname=QueueBacklogHigh', 'queue=q')).toBe('critical');
    expect(route('severity=warning', 'alertname=QueueBacklogHigh', 'queue=q')).toBe('warning');
    expect(route('alertname=Unlabelled')).toBe('warning');
  });

  it('every receiver posts to the relay with send_resolved and max_alerts; grouping and inhibitions as specified', () => {
    type Cfg = {
      route: { group_by: string[] };
      receivers: { name: string; webhook_configs?: { url: string; send_resolved: boolean; max_alerts: number }[] }[];
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    };
    const cfg = parse(readFileSync(join(REPO, cfgFile), 'utf8')) as Cfg;
    expect(cfg.route.group_by).toEqual(['alertname', 'queue']);
    const hooks = cfg.receivers.flatMap((r) => r.webhook_configs ?? []);
    expect(hooks.length).toBeGreaterThan(0);
    for (const h of hooks) {
      expect(h.url).toMatch(/^http:\/\/queuescope:9640\/alerts\/(dingtalk|wecom)\/[A-Za-z0-9_-]+$/);
      expect(h.send_resolved).toBe(true);
      expect(h.max_alerts).toBeGreaterThan(0);
    }
    const redis = cfg.inhibit_rules.find((r) => r.source_matchers.includes('alertname="QueuescopeRedisDown"'));
    expect(redis?.equal).toEqual(['instance']);
    const severity = cfg.inhibit_rules.find((r) => r.source_matchers.includes('severity="critical"'));
    expect(severity?.target_matchers).toEqual(['severity="warning"']);
    expect(severity?.equal).toEqual(['alertname', 'queue']);
  });
});
