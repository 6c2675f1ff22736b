/**
 * `queuescope generate --job myjob --lang en` (the built CLI, as a user runs
 * it) into a fresh folder: the real promtool checks and tests the rules,
 * amtool checks the routing, and the boards pass the provisioning schema.
 * Also `--format prometheusrule` on stdout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/binaries.js';
import { dashboardSchema } from '../grafana/schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'qs-generate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (bin: string, args: string[], cwd = dir): string => execFileSync(bin, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('queuescope generate --job myjob --lang en', () => {
  const promtool = findBinary('promtool', 'prometheus');
  const amtool = findBinary('amtool', 'prometheus-alertmanager');

  it('writes the files', () => {
    expect(run(process.execPath, [CLI, 'generate', '--job', 'myjob', '--lang', 'en', '--alert-prefix', 'Acme', '--out', dir])).toMatch(/wrote 11 files/);
  });

  it('promtool check config / check rules / test rules pass', () => {
    expect(run(promtool, ['check', 'config', 'prometheus/prometheus.yml'])).toMatch(/SUCCESS: 2 rule files found/);
    const rules = readdirSync(join(dir, 'prometheus/rules')).map((f) => join('prometheus/rules', f));
    expect(run(promtool, ['check', 'rules', ...rules])).toMatch(/SUCCESS: 18 rules found/);
    const tests = readdirSync(join(dir, 'prometheus/tests')).map((f) => join('prometheus/tests', f));
    const out = run(promtool, ['test', 'rules', ...tests]);
    expect(out).not.toMatch(/FAILED/);
    expect(out.match(/SUCCESS/g)?.length).toBe(tests.length);
    // English annotations were asserted by the tests
    expect(readFileSync(join(dir, 'prometheus/tests/queues.test.yml'), 'utf8')).toContain('summary: Queue exam-tasks has 1.5k tasks waiting');
  });

  it('amtool check-config passes and the inhibition names the prefixed alert', () => {
    expect(run(amtool, ['check-config', 'alertmanager/alertmanager.yml'])).toMatch(/SUCCESS/);
    const route = run(amtool, ['config', 'routes', 'test', '--config.file=alertmanager/alertmanager.yml', 'severity=critical', 'alertname=AcmeQueueBacklogHigh']).trim();
    expect(route).toBe('critical');
  });

  it('the boards pass the provisioning schema', () => {
    const boards = readdirSync(join(dir, 'grafana/dashboards'));
    expect(boards.length).toBe(5);
    for (const f of boards) {
      const r = dashboardSchema.safeParse(JSON.parse(readFileSync(join(dir, 'grafana/dashboards', f), 'utf8')));
      expect(r.success ? [] : r.error.issues.map((i) => `${f} ${i.path.join('.')}: ${i.message}`)).toEqual([]);
    }
  });

  it('--format prometheusrule prints a PrometheusRule whose groups promtool accepts', () => {
    const text = run(process.execPath, [CLI, 'generate', '--format', 'prometheusrule', '--job', 'myjob', '--lang', 'en', '--namespace', 'monitoring']);
    const doc = parse(text) as { kind: string; spec: { groups: unknown[] } };
    expect(doc.kind).toBe('PrometheusRule');
    // promtool reads the spec as a plain rule file (JSON is YAML)
    const plain = join(dir, 'from-prometheusrule.yml');
    writeFileSync(plain, JSON.stringify({ groups: doc.spec.groups }));
    expect(run(promtool, ['check', 'rules', plain])).toMatch(/SUCCESS: 24 rules found/);
  });

  it('bad parameters exit 2 naming the parameter', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [CLI, 'generate', '--job', 'a"b'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--job "a"b"');
    const t = spawnSync(process.execPath, [CLI, 'generate', '--threshold', 'nope=1'], { encoding: 'utf8' });
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--threshold nope: unknown/);
  });
});
