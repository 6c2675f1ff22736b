/**
 * The provisioned Grafana boards: generated JSON in step with its TypeScript
 * source (which must type-check), a schema check of the JSON Grafana loads,
 * stable uids, sound layout, only known metrics, only defined variables, and
 * thresholds equal to the alert rules'.
 *
 * After editing src/generate/grafana: `UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`
 * (or `npx queuescope generate --out .`, which regenerates every shipped file).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ALERT, DASHBOARDS, render } from '../../src/generate/grafana/dashboards.js';
import { FAMILIES } from '../../src/collect/families.js';
import { dashboardFiles, panelTargets, variableUses } from './panels.js';
import { dashboardSchema } from './schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'grafana/dashboards');

/** Metrics the boards may read besides the engine's families: prom-client self metrics, the MySQL collector's, Prometheus' own. */
const OTHER_METRICS = new Set([
  'queuescope_build_info',
  'queuescope_config_last_reload_successful',
  'queuescope_notifications_total',
  'queuescope_notification_queue_length',
  'queuescope_notification_send_duration_seconds_bucket',
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_p99_seconds',
  'mysql_up',
  'mysql_version_info',
  'mysql_global_status_threads_connected',
  'mysql_global_status_threads_running',
  'mysql_global_status_queries',
  'mysql_global_status_slow_queries',
  'mysql_global_status_commands_total',
  'mysql_global_status_handlers_total',
  'mysql_global_variables_max_connections',
  'mysql_info_schema_processlist_threads',
  'scrape_duration_seconds',
  // added this round by the other issues' branches (12: workers, broker; 13: the relay's outbox)
  'queue_workers',
  'queue_broker_unacked',
  'queue_default_backlog_threshold',
  'queue_default_latency_threshold_seconds',
  'queuescope_notification_store_bytes',
  'queuescope_notification_oldest_undelivered_age_seconds',
]);

describe('Grafana dashboards', () => {
  it('the JSON files are exactly what src/generate/grafana renders', () => {
    for (const [file, board] of Object.entries(DASHBOARDS)) {
      const path = join(DIR, file);
      if (process.env.UPDATE_GRAFANA === '1') writeFileSync(path, render(board));
      expect(existsSync(path), `${file} missing: run UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`).toBe(true);
      expect(readFileSync(path, 'utf8'), `${file} is stale: run UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`).toBe(render(board));
    }
    expect(readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(DASHBOARDS).sort());
  });

  it('src/generate/grafana type-checks under the project compiler options', () => {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const files = readdirSync(join(ROOT, 'src/generate/grafana')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'src/generate/grafana', f));
    const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName.includes('/src/generate/'));
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  }, 60_000);

  it('every file passes the dashboard schema and has a stable, unique uid', () => {
    const boards = dashboardFiles();
    for (const { file, json } of boards) {
      const r = dashboardSchema.safeParse(json);
      expect(r.success ? [] : r.error.issues.map((i) => `${file} ${i.path.join('.')}: ${i.message}`)).toEqual([]);
    }
    expect(boards.map((b) => b.json.uid).sort()).toEqual(['queuescope-components', 'queuescope-mysql', 'queuescope-queues', 'queuescope-self', 'queuescope-streams']);
    expect(new Set(boards.map((b) => b.json.title)).size).toBe(boards.length);
  });

  it('panels have unique ids, units, and do not overlap', () => {
    for (const { file, json } of dashboardFiles()) {
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of json.panels) {
        expect(p.gridPos.x + p.gridPos.w, `${file} ${p.title}`).toBeLessThanOrEqual(24);
        if (p.type !== 'row') expect(p.fieldConfig?.defaults.unit, `${file} ${p.title}`).toBeTruthy();
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            const cell = `${x},${y}`;
            expect(cells.has(cell), `${file}: "${p.title}" overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
      }
    }
  });

  it('every board has the datasource, job and instance variables; the queue boards a queue variable', () => {
    for (const { file, json } of dashboardFiles()) {
      const names = json.templating.list.map((v) => v.name);
      expect(names.slice(0, 3), file).toEqual(['datasource', 'job', 'instance']);
      if (['queuescope-queues', 'queuescope-streams'].includes(json.uid)) expect(names, file).toContain('queue');
    }
  });

  it('queries use only defined variables, always as regex matchers (so "All" = .* works)', () => {
    for (const { file, json } of dashboardFiles()) {
      const defined = new Set(json.templating.list.map((v) => v.name));
      const texts = [...panelTargets(json).map((t) => t.expr), ...json.templating.list.filter((v) => v.type === 'query').map((v) => v.query)];
      for (const text of texts) {
        for (const use of variableUses(text)) {
          if (use.name.startsWith('__')) continue;
          expect(defined.has(use.name), `${file}: $${use.name} in ${text}`).toBe(true);
          expect(use.regexMatcher, `${file}: $${use.name} must be used as label=~"$${use.name}" in ${text}`).toBe(true);
        }
      }
    }
  });

  it('queries read only metrics queuescope exports (no recording rules)', () => {
    const known = new Set([...Object.keys(FAMILIES), ...OTHER_METRICS]);
    for (const { file, json } of dashboardFiles()) {
      for (const t of panelTargets(json)) {
        const names = t.expr.match(/\b(?:queue|queuescope|mysql|redis|process|nodejs|scrape)_[a-z0-9_]+\b/g) ?? [];
        expect(names.length, `${file}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names) expect(known.has(n), `${file}: unknown metric ${n} in ${t.expr}`).toBe(true);
        expect(t.expr, 'recording rules have a colon in their name').not.toMatch(/[a-z]:[a-z]/);
      }
    }
  });

  it('thresholds drawn on panels are the alert rules\' numbers', () => {
    const thresholdValues = (title: string): number[] => {
      for (const { json } of dashboardFiles()) {
        const p = json.panels.find((x) => x.title === title);
        if (p) return (p.fieldConfig?.defaults.thresholds.steps ?? []).map((s) => s.value).filter((v): v is number => v !== null);
      }
      throw new Error(`no panel "${title}"`);
    };
    expect(thresholdValues('Failure ratio (5m)')).toContain(ALERT.failureRatio);
    expect(thresholdValues('Connections used')).toContain(ALERT.mysqlConnectionsRatio);
    expect(thresholdValues('Slow queries (5m)')).toContain(ALERT.slowQueriesPerSecond);
    expect(thresholdValues('Oldest pending entry')).toContain(ALERT.streamIdleSeconds);

    // The numbers in ALERT must be the ones the rules use (checked when the rule files are there).
    const rulesDir = join(ROOT, 'prometheus/rules');
    const rules = existsSync(rulesDir)
      ? readdirSync(rulesDir)
          .filter((f) => /\.ya?ml$/.test(f))
          .flatMap((f) => ((parseYaml(readFileSync(join(rulesDir, f), 'utf8')) as { groups?: { rules?: { alert?: string; expr?: string }[] }[] })?.groups ?? []).flatMap((g) => g.rules ?? []))
      : [];
    const exprOf = (alert: string): string | undefined => rules.find((r) => r.alert === alert)?.expr;
    const expectations: [alert: string, value: number][] = [
      ['QueueFailureRateHigh', ALERT.failureRatio],
      ['MySQLConnectionsNearLimit', ALERT.mysqlConnectionsRatio],
      ['MySQLSlowQueries', ALERT.slowQueriesPerSecond],
    ];
    for (const [alert, value] of expectations) {
      const expr = exprOf(alert);
      if (expr === undefined) continue; // rules not written yet; the panel values above still follow alerting.md
      const constants = (expr.match(/(?<![\w.])\d+(?:\.\d+)?(?![\w.])/g) ?? []).map(Number);
      expect(constants, `${alert}: ${expr}`).toContain(value);
    }
  });

  it('imports through Grafana\'s Import: the datasource variable defaults to the __inputs data source, __requires names every panel type', () => {
    for (const { file, json } of dashboardFiles()) {
      const input = json.__inputs[0]!;
      const ds = json.templating.list.find((v) => v.type === 'datasource')!;
      expect(ds.current, file).toMatchObject({ value: `\${${input.name}}` });
      const required = new Set(json.__requires.filter((r) => r.type === 'panel').map((r) => r.id));
      for (const p of json.panels) if (p.type !== 'row') expect(required.has(p.type), `${file} ${p.type}`).toBe(true);
    }
  });

  it('queue panels link to the sidecar\'s queue view through the queuescope_url variable', () => {
    const queues = dashboardFiles().find((b) => b.json.uid === 'queuescope-queues')!.json;
    const linked = queues.panels.filter((p) => p.fieldConfig?.defaults.links?.length);
    expect(linked.map((p) => p.title)).toEqual(expect.arrayContaining(['Waiting tasks by queue', 'Oldest waiting task age', 'Workers per queue']));
    for (const p of linked) {
      for (const l of p.fieldConfig!.defaults.links!) expect(l.url).toBe('${queuescope_url}/queues/${__field.labels.queue:percentencode}?framework=${__field.labels.framework:percentencode}');
    }
    const v = queues.templating.list.find((x) => x.name === 'queuescope_url');
    expect(v).toMatchObject({ type: 'textbox', query: 'http://localhost:9640' });
  });
});
