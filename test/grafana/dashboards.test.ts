/**
 * The provisioned Grafana boards: generated JSON in step with its TypeScript
 * source (which must type-check), a schema check of the JSON Grafana loads,
 * stable uids, sound layout, only known metrics, only defined variables, and
 * thresholds equal to the alert rules'.
 *
 * After editing grafana/src: `UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ALERT, DASHBOARDS, render } from '../../grafana/src/dashboards.js';
import { FAMILIES } from '../../src/collect/families.js';
import { dashboardFiles, panelTargets, variableUses } from './panels.js';

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
]);

const stepSchema = z.strictObject({ color: z.string().min(1), value: z.number().nullable() });
const targetSchema = z.strictObject({
  refId: z.string().regex(/^[A-Z]$/),
  expr: z.string().min(1),
  legendFormat: z.string(),
  instant: z.boolean(),
  range: z.boolean(),
  format: z.enum(['time_series', 'table']),
  datasource: z.strictObject({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }),
});
const gridPos = z.strictObject({ h: z.number().int().positive(), w: z.number().int().min(1).max(24), x: z.number().int().min(0).max(23), y: z.number().int().min(0) });
const panelSchema = z.union([
  z.strictObject({ id: z.number().int(), type: z.literal('row'), title: z.string().min(1), collapsed: z.boolean(), panels: z.array(z.unknown()), gridPos }),
  z.strictObject({
    id: z.number().int(),
    type: z.enum(['timeseries', 'stat', 'bargauge', 'state-timeline', 'table']),
    title: z.string().min(1),
    description: z.string().min(10),
    gridPos,
    datasource: z.strictObject({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }),
    targets: z.array(targetSchema).min(1),
    fieldConfig: z.strictObject({
      defaults: z.looseObject({
        unit: z.string().min(1),
        thresholds: z.strictObject({ mode: z.literal('absolute'), steps: z.array(stepSchema).min(1) }),
        mappings: z.array(z.unknown()),
        color: z.strictObject({ mode: z.string() }),
      }),
      overrides: z.array(z.strictObject({ matcher: z.strictObject({ id: z.string(), options: z.string() }), properties: z.array(z.strictObject({ id: z.string(), value: z.unknown() })) })),
    }),
    options: z.record(z.string(), z.unknown()),
  }),
]);
const variableSchema = z.looseObject({
  type: z.enum(['datasource', 'query']),
  name: z.string().regex(/^[a-z]+$/),
  label: z.string(),
  query: z.string().min(1),
  refresh: z.number().int(),
});
const dashboardSchema = z.looseObject({
  uid: z.string().regex(/^[a-z0-9-]{1,40}$/),
  title: z.string().min(1),
  tags: z.array(z.string()),
  schemaVersion: z.number().int().min(36),
  time: z.strictObject({ from: z.string(), to: z.string() }),
  refresh: z.string(),
  templating: z.strictObject({ list: z.array(variableSchema) }),
  annotations: z.strictObject({ list: z.array(z.unknown()) }),
  panels: z.array(panelSchema).min(1),
});

describe('Grafana dashboards', () => {
  it('the JSON files are exactly what grafana/src renders', () => {
    for (const [file, board] of Object.entries(DASHBOARDS)) {
      const path = join(DIR, file);
      if (process.env.UPDATE_GRAFANA === '1') writeFileSync(path, render(board));
      expect(existsSync(path), `${file} missing: run UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`).toBe(true);
      expect(readFileSync(path, 'utf8'), `${file} is stale: run UPDATE_GRAFANA=1 npx vitest run test/grafana/dashboards.test.ts`).toBe(render(board));
    }
    expect(readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(DASHBOARDS).sort());
  });

  it('grafana/src type-checks under the project compiler options', () => {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const files = readdirSync(join(ROOT, 'grafana/src')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'grafana/src', f));
    const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName.includes('/grafana/src/'));
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
});
