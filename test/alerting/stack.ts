/**
 * Real Prometheus and Alertmanager for end-to-end alerting tests, started
 * from test copies generated from the repository's own `prometheus/` and
 * `alertmanager/` files: only addresses, intervals, `for:` durations and
 * credentials are changed, everything else (expressions, labels,
 * annotations, routes, inhibitions, receivers) is what ships.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { findBinary } from '../helpers/binaries.js';
import { freePort, waitFor } from '../helpers/ports.js';

export const REPO = new URL('../../', import.meta.url).pathname;

export interface Proc {
  readonly port: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

type Yaml = Record<string, unknown>;

/** Writes the test copy of prometheus.yml (+ rules with every `for:` set to `forDuration`) into `dir`. */
export function writePrometheusCopy(dir: string, o: { sidecar: string; alertmanager: string; bearer?: string; forDuration: string }): string {
  const cfg = parse(readFileSync(join(REPO, 'prometheus/prometheus.yml'), 'utf8')) as Yaml;
  const global = (cfg.global ?? {}) as Yaml;
  Object.assign(global, { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' });
  cfg.global = global;
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir, { recursive: true });
  for (const f of readdirSync(join(REPO, 'prometheus/rules')).filter((x) => x.endsWith('.yml'))) {
    const rules = parse(readFileSync(join(REPO, 'prometheus/rules', f), 'utf8')) as { groups: { rules: Yaml[] }[] };
    for (const g of rules.groups) for (const r of g.rules) if (r.for !== undefined) r.for = o.forDuration;
    writeFileSync(join(rulesDir, f), stringify(rules));
  }
  cfg.rule_files = [join(rulesDir, '*.yml')];
  const am = ((cfg.alerting as Yaml).alertmanagers as Yaml[])[0]!;
  (am.static_configs as Yaml[])[0]!.targets = [o.alertmanager];
  const job = (cfg.scrape_configs as Yaml[]).find((j) => j.job_name === 'queuescope')!;
  (job.static_configs as Yaml[])[0]!.targets = [o.sidecar];
  if (o.bearer) job.authorization = { credentials: o.bearer };
  const path = join(dir, 'prometheus.yml');
  writeFileSync(path, stringify(cfg));
  return path;
}

/** Writes the test copy of alertmanager.yml: relay URLs at `sidecarBase`, 1 s group_wait / group_interval. */
export function writeAlertmanagerCopy(dir: string, o: { sidecarBase: string; bearer?: string }): string {
  const text = readFileSync(join(REPO, 'alertmanager/alertmanager.yml'), 'utf8').replaceAll('http://queuescope:9640', o.sidecarBase);
  const cfg = parse(text) as Yaml;
  const shorten = (route: Yaml): void => {
    if (route.group_wait !== undefined || route === cfg.route) route.group_wait = '1s';
    if (route.group_interval !== undefined || route === cfg.route) route.group_interval = '1s';
    for (const r of (route.routes as Yaml[] | undefined) ?? []) shorten(r);
  };
  shorten(cfg.route as Yaml);
  if (o.bearer) {
    for (const rcv of cfg.receivers as Yaml[]) for (const w of (rcv.webhook_configs as Yaml[] | undefined) ?? []) w.http_config = { authorization: { credentials: o.bearer } };
  }
  const path = join(dir, 'alertmanager.yml');
  writeFileSync(path, stringify(cfg));
  return path;
}

async function startProcess(name: string, bin: string, args: (port: number) => string[], dir: string, readyPath: string): Promise<Proc> {
  const port = await freePort();
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const proc: ChildProcess = spawn(bin, args(port), { stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  let exited = false;
  proc.once('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  };
  try {
    await waitFor(`${name} ready on ${port}`, async () => {
      if (exited) throw new Error(`${name} exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      const r = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      return r.ok;
    }, 20_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, logFile, stop };
}

/** Starts `prometheus-alertmanager` on a free loopback port, clustering off. */
export function startAlertmanager(dir: string, configFile: string): Promise<Proc> {
  const bin = findBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  mkdirSync(join(dir, 'am-data'), { recursive: true });
  return startProcess('alertmanager', bin, (port) => [
    `--config.file=${configFile}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // the URL the notifications carry (externalURL): reachable, so the messages' silence links can be opened
    `--web.external-url=http://127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=debug',
  ], dir, '/-/ready');
}

/**
 * An Alertmanager config whose one receiver posts every group (by alertname
 * and queue, 1 s group wait and interval, resolved too, at most 25 alerts)
 * to each of `webhookUrls`: the relay tests' routing.
 */
export function relayRoutingConfig(webhookUrls: readonly string[]): string {
  return `route:
  receiver: relay
  group_by: [alertname, queue]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: relay
    webhook_configs:
${webhookUrls.map((url) => `      - url: ${url}\n        send_resolved: true\n        max_alerts: 25\n`).join('')}`;
}

/** The sum of Alertmanager's `metric` over its webhook integration's series (from its `/metrics`). */
export async function webhookMetric(am: Proc, metric: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${am.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) && l.includes('integration="webhook"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Starts `prometheus` on a free loopback port with a 1 s alert resend delay. */
export function startPrometheus(dir: string, configFile: string): Promise<Proc> {
  const bin = findBinary('prometheus', 'prometheus');
  mkdirSync(join(dir, 'prom-data'), { recursive: true });
  return startProcess('prometheus', bin, (p) => [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${p}`,
    '--rules.alert.resend-delay=1s',
    '--log.level=info',
  ], dir, '/-/ready');
}
