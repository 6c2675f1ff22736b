/**
 * `queuescope generate`: the Prometheus rules, recording rules, promtool
 * tests, Alertmanager routing and Grafana boards from one typed source
 * (`src/generate/`), fitted to a team's setup by parameters. With the
 * defaults it renders exactly the files shipped in the repository
 * (`test/generate/generate.test.ts` fails when they drift).
 *
 *   queuescope generate [--out DIR] [--format files|prometheusrule] [--job NAME]
 *     [--alert-prefix Word] [--lang zh|en] [--runbook-base URL]
 *     [--threshold name=value]… [--severity Alert=critical|warning]…
 *     [--datasource-input DS_PROMETHEUS] [--relay-url URL] [--queuescope-url URL]
 *     [--name NAME] [--namespace NS] [--label k=v]…
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { alertmanagerYml } from './alertmanager.js';
import { buildDashboards, render as renderBoard } from './grafana/dashboards.js';
import { DEFAULT_THRESHOLDS, GenerateParamError, resolveParams, type GenerateParams, type Severity, type Thresholds } from './params.js';
import { alertsFile, prometheusRule, prometheusYml, recordingFile, testFiles } from './prometheus.js';

export { GenerateParamError } from './params.js';

/**
 * Every generated file, by path relative to the repository root.
 * @returns path → file text
 */
export function generateFiles(p: GenerateParams): Record<string, string> {
  const out: Record<string, string> = {
    'prometheus/prometheus.yml': prometheusYml(p),
    'prometheus/rules/queuescope-alerts.yml': alertsFile(p),
    'prometheus/rules/queuescope-recording.yml': recordingFile(p),
    'alertmanager/alertmanager.yml': alertmanagerYml(p),
  };
  for (const [name, text] of Object.entries(testFiles(p))) out[`prometheus/tests/${name}.test.yml`] = text;
  for (const [file, board] of Object.entries(buildDashboards(p))) out[`grafana/dashboards/${file}`] = renderBoard(board);
  return out;
}

export const GENERATE_USAGE = `usage: queuescope generate [options]
  --out DIR                 write the files under DIR (prometheus/, alertmanager/, grafana/dashboards/);
                            without it, --format files lists what would be written
  --format files|prometheusrule
                            prometheusrule: the rules as one prometheus-operator PrometheusRule on stdout (or --out FILE)
  --job NAME                the scrape job every rule selects (default queuescope)
  --alert-prefix Word       prepended to every alert name (default none)
  --lang zh|en              language of summaries and descriptions (default zh)
  --runbook-base URL        runbook_url = URL#<alert anchor> (default README.md; point it at where your team reads this README)
  --threshold name=value    ${Object.keys(DEFAULT_THRESHOLDS).join(', ')}
  --severity Alert=level    critical | warning, for single-level alerts
  --datasource-input NAME   the Grafana Import input for the Prometheus data source (default DS_PROMETHEUS)
  --relay-url URL           queuescope as Alertmanager and Prometheus reach it (default http://queuescope:9640)
  --queuescope-url URL      default of the boards' queuescope_url variable (default http://localhost:9640)
  --name, --namespace, --label k=v   metadata of the PrometheusRule`;

function pairs(list: string[] | undefined, flag: string): [string, string][] {
  return (list ?? []).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new GenerateParamError(`${flag} ${item}: expected name=value`);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/**
 * Runs the command.
 * @returns the exit code (0; 2 for bad parameters, via GenerateParamError thrown to the CLI)
 */
export function runGenerateCommand(argv: string[], io: { stdout: (s: string) => void; cwd: string }): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        format: { type: 'string', default: 'files' },
        job: { type: 'string' },
        'alert-prefix': { type: 'string' },
        lang: { type: 'string' },
        'runbook-base': { type: 'string' },
        threshold: { type: 'string', multiple: true },
        severity: { type: 'string', multiple: true },
        'datasource-input': { type: 'string' },
        'relay-url': { type: 'string' },
        'queuescope-url': { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        label: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new GenerateParamError((err as Error).message);
  }
  if (values.help) {
    io.stdout(`${GENERATE_USAGE}\n`);
    return 0;
  }
  const thresholds: Partial<Thresholds> = {};
  for (const [k, v] of pairs(values.threshold, '--threshold')) {
    if (!(k in DEFAULT_THRESHOLDS)) throw new GenerateParamError(`--threshold ${k}: unknown; one of ${Object.keys(DEFAULT_THRESHOLDS).join(', ')}`);
    thresholds[k as keyof Thresholds] = Number(v);
  }
  const p = resolveParams({
    ...(values.job !== undefined && { job: values.job }),
    ...(values['alert-prefix'] !== undefined && { alertPrefix: values['alert-prefix'] }),
    ...(values.lang !== undefined && { lang: values.lang as GenerateParams['lang'] }),
    ...(values['runbook-base'] !== undefined && { runbookBase: values['runbook-base'] }),
    ...(values['datasource-input'] !== undefined && { datasourceInput: values['datasource-input'] }),
    ...(values['relay-url'] !== undefined && { relayURL: values['relay-url'] }),
    ...(values['queuescope-url'] !== undefined && { queuescopeURL: values['queuescope-url'] }),
    thresholds,
    severities: Object.fromEntries(pairs(values.severity, '--severity')) as Record<string, Severity>,
  });
  if (values.format === 'prometheusrule') {
    const text = prometheusRule(p, {
      ...(values.name !== undefined && { name: values.name }),
      ...(values.namespace !== undefined && { namespace: values.namespace }),
      labels: Object.fromEntries(pairs(values.label, '--label')),
    });
    if (values.out) writeFileSync(resolve(io.cwd, values.out), text);
    else io.stdout(text);
    return 0;
  }
  if (values.format !== 'files') throw new GenerateParamError(`--format ${values.format}: files or prometheusrule`);
  const files = generateFiles(p);
  if (!values.out) {
    io.stdout(`# would write (give --out DIR):\n${Object.keys(files).join('\n')}\n`);
    return 0;
  }
  const root = resolve(io.cwd, values.out);
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  io.stdout(`wrote ${Object.keys(files).length} files under ${root}\n`);
  return 0;
}
