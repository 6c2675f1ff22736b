/**
 * A small typed builder for the Grafana dashboard JSON model (schemaVersion 39,
 * Grafana 10.x / 11.x), just the parts queuescope's boards use. The boards in
 * `dashboards.ts` are written with it and rendered into `grafana/dashboards/*.json`
 * (the files Grafana provisions); `test/grafana/dashboards.test.ts` keeps the
 * two in step and schema-checks the JSON.
 *
 * Regenerate after editing: `npx queuescope generate --out .` (or
 * `UPDATE_GENERATED=1 npx vitest run test/generate/generate.test.ts`).
 */

/** Every panel and variable queries the provisioned Prometheus through the `$datasource` variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** One PromQL query of a panel. */
export interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  /** Instant query (tables, bar gauges); default a range query. */
  instant: boolean;
  range: boolean;
  format: 'time_series' | 'table';
  datasource: typeof DATASOURCE;
}

/** A threshold step: `value` null is the base step. */
export interface ThresholdStep {
  color: string;
  value: number | null;
}

/** A field override: which series (`byFrameRefID` = one query's series) and what to change. */
export interface Override {
  matcher: { id: string; options: string };
  properties: { id: string; value: unknown }[];
}

export interface FieldConfig {
  defaults: {
    unit: string;
    min?: number;
    max?: number;
    decimals?: number;
    color: { mode: string };
    thresholds: { mode: 'absolute'; steps: ThresholdStep[] };
    mappings: unknown[];
    links?: DataLink[];
    custom?: Record<string, unknown>;
  };
  overrides: Override[];
}

export type PanelType = 'timeseries' | 'stat' | 'bargauge' | 'state-timeline' | 'table' | 'row';

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: typeof DATASOURCE;
  targets?: Target[];
  fieldConfig?: FieldConfig;
  options?: Record<string, unknown>;
  collapsed?: boolean;
  panels?: Panel[];
}

export interface Variable {
  type: 'datasource' | 'query' | 'textbox';
  name: string;
  label: string;
  query: string;
  definition?: string;
  datasource?: typeof DATASOURCE;
  refresh: number;
  includeAll: boolean;
  multi: boolean;
  allValue?: string;
  current: Record<string, unknown>;
  options: unknown[];
  regex: string;
  sort?: number;
  hide: number;
}

/** A Grafana data link: `url` may use `${__field.labels.x}` and dashboard variables. */
export interface DataLink {
  title: string;
  url: string;
  targetBlank: boolean;
}

/** Grafana's Import dialog: the data source it asks for, and what the board needs. */
export interface ImportInput {
  name: string;
  label: string;
  description: string;
  type: 'datasource';
  pluginId: 'prometheus';
  pluginName: 'Prometheus';
}

export interface Dashboard {
  __inputs: ImportInput[];
  __requires: { type: 'grafana' | 'datasource' | 'panel'; id: string; name: string; version: string }[];
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: string;
  editable: boolean;
  graphTooltip: number;
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  timepicker: Record<string, never>;
  fiscalYearStartMonth: number;
  liveNow: boolean;
  weekStart: string;
  links: unknown[];
  annotations: { list: unknown[] };
  templating: { list: Variable[] };
  panels: Panel[];
}

/** Units used by the boards (Grafana unit ids; `suffix:` is Grafana's custom-unit syntax). */
export const UNIT = {
  count: 'short',
  seconds: 's',
  ratio: 'percentunit',
  bytes: 'bytes',
  perSecond: 'suffix: /s',
  tasksPerSecond: 'suffix: tasks/s',
  queriesPerSecond: 'qps',
  fromNow: 'dateTimeFromNow',
  none: 'none',
} as const;

/** What a panel definition gives; layout and ids are filled in by {@link dashboard}. */
export interface PanelSpec {
  type: Exclude<PanelType, 'row'>;
  title: string;
  description: string;
  /** [query, legend] pairs; refIds A, B, C… in order. */
  queries: [expr: string, legend: string][];
  unit: string;
  /** Grid width (of 24) and height. Defaults 12 × 8 (stats 4 × 4). */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** Threshold steps above the green base, e.g. `[['red', 0.05]]`. */
  thresholds?: [color: string, value: number][];
  /** Draw the thresholds on a time series as a dashed line. */
  showThresholds?: boolean;
  /** Query refIds whose series are reference lines (thresholds from config): dashed, red, unfilled. */
  referenceLines?: string[];
  stacked?: boolean;
  instant?: boolean;
  /** Value → text/colour mappings, e.g. up/down. */
  mappings?: unknown[];
  /** data links on every value (e.g. to the sidecar's queue view) */
  links?: DataLink[];
  options?: Record<string, unknown>;
}

const REF_IDS = 'ABCDEFGHIJ';

const PANEL_NAMES: Record<string, string> = { timeseries: 'Time series', stat: 'Stat', bargauge: 'Bar gauge', 'state-timeline': 'State timeline', table: 'Table' };

/** Value mappings for 0/1 gauges. */
export function upDownMappings(up: string, down: string): unknown[] {
  return [
    {
      type: 'value',
      options: {
        '0': { text: down, color: 'red', index: 0 },
        '1': { text: up, color: 'green', index: 1 },
      },
    },
  ];
}

function panelFrom(spec: PanelSpec, id: number, gridPos: Panel['gridPos']): Panel {
  const targets: Target[] = spec.queries.map(([expr, legend], i) => ({
    refId: REF_IDS[i] ?? `Q${i}`,
    expr,
    legendFormat: legend,
    instant: spec.instant ?? spec.type === 'bargauge',
    range: !(spec.instant ?? spec.type === 'bargauge'),
    format: spec.type === 'table' ? 'table' : 'time_series',
    datasource: DATASOURCE,
  }));
  const overrides: Override[] = (spec.referenceLines ?? []).map((refId) => ({
    matcher: { id: 'byFrameRefID', options: refId },
    properties: [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'custom.stacking', value: { mode: 'none', group: 'A' } },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ],
  }));
  const custom: Record<string, unknown> | undefined =
    spec.type === 'timeseries'
      ? {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: spec.stacked ? 30 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: spec.stacked ? 'normal' : 'none', group: 'A' },
          thresholdsStyle: { mode: spec.showThresholds ? 'dashed' : 'off' },
        }
      : undefined;
  const options: Record<string, unknown> =
    spec.type === 'stat'
      ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' }
      : spec.type === 'timeseries'
        ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
        : spec.type === 'bargauge'
          ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true }
          : spec.type === 'state-timeline'
            ? { showValue: 'never', mergeValues: true, rowHeight: 0.9, legend: { displayMode: 'list', placement: 'bottom', showLegend: false } }
            : {};
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    gridPos,
    datasource: DATASOURCE,
    targets,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        ...(spec.min === undefined ? {} : { min: spec.min }),
        ...(spec.max === undefined ? {} : { max: spec.max }),
        ...(spec.decimals === undefined ? {} : { decimals: spec.decimals }),
        color: { mode: spec.type === 'stat' || spec.type === 'state-timeline' ? 'thresholds' : 'palette-classic' },
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...(spec.thresholds ?? []).map(([color, value]) => ({ color, value }))] },
        mappings: spec.mappings ?? [],
        ...(spec.links ? { links: spec.links } : {}),
        ...(custom ? { custom } : {}),
      },
      overrides,
    },
    options: { ...options, ...spec.options },
  };
}

/** A row of panels under a heading. */
export interface Section {
  title: string;
  panels: PanelSpec[];
}

/**
 * Lays sections out top to bottom (panels flow left to right, wrapping at 24
 * columns) and numbers the panels.
 */
export function layout(sections: Section[]): Panel[] {
  const out: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const section of sections) {
    out.push({ id: id++, type: 'row', title: section.title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of section.panels) {
      const w = spec.w ?? (spec.type === 'stat' ? 4 : 12);
      const h = spec.h ?? (spec.type === 'stat' ? 4 : 8);
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      out.push(panelFrom(spec, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return out;
}

/**
 * The `$datasource` variable: any Prometheus data source. Its default is the
 * Import dialog's input (`${DS_PROMETHEUS}`, replaced by Grafana's Import);
 * provisioning leaves the placeholder, matches no data source and so selects
 * the default Prometheus.
 */
export function datasourceVariable(input?: string): Variable {
  const current = input ? { selected: false, text: `\${${input}}`, value: `\${${input}}` } : {};
  return { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', refresh: 1, includeAll: false, multi: false, current, options: [], regex: '', hide: 0 };
}

/** A free-text variable with a default, e.g. the sidecar's URL for data links. */
export function textboxVariable(name: string, label: string, value: string): Variable {
  return { type: 'textbox', name, label, query: value, refresh: 0, includeAll: false, multi: false, current: { selected: false, text: value, value }, options: [{ selected: true, text: value, value }], regex: '', hide: 0 };
}

/** The data link from a queue series to the sidecar's view of that queue (`GET /queues/:queue?framework=`). */
export const QUEUE_VIEW_LINK: DataLink = {
  title: 'Open the queue in queuescope',
  url: '\${queuescope_url}/queues/\${__field.labels.queue:percentencode}?framework=\${__field.labels.framework:percentencode}',
  targetBlank: true,
};

/**
 * A multi-value query variable from `label_values(selector, label)`; "All"
 * is `.*`, so panels match it with `=~"$name"`.
 */
export function labelVariable(name: string, label: string, query: string): Variable {
  return {
    type: 'query',
    name,
    label,
    query,
    definition: query,
    datasource: DATASOURCE,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: {},
    options: [],
    regex: '',
    sort: 1,
    hide: 0,
  };
}

/** The four variables every board starts with (`$queue` only where `queueQuery` is given). */
export function standardVariables(queueQuery?: string): Variable[] {
  const vars = [
    datasourceVariable(),
    labelVariable('job', 'Job', 'label_values(queuescope_build_info, job)'),
    labelVariable('instance', 'Instance', 'label_values(queuescope_build_info{job=~"$job"}, instance)'),
  ];
  if (queueQuery) vars.push(labelVariable('queue', 'Queue', queueQuery));
  return vars;
}

/** What a board definition gives {@link dashboard}. */
export interface BoardOptions {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  sections: Section[];
}

/** Grafana version the JSON model (schemaVersion 39) needs. */
const GRAFANA_VERSION = '10.4.0';

/**
 * A complete dashboard around its sections, importable through Grafana's
 * Import (`__inputs` / `__requires`) and provisionable as is.
 */
export function dashboard(opts: BoardOptions & { datasourceInput: string; queuescopeURL: string }): Dashboard {
  const panels = layout(opts.sections);
  const panelTypes = [...new Set(panels.map((p) => p.type).filter((t) => t !== 'row'))].sort();
  const variables = opts.variables.map((v) => (v.type === 'datasource' ? datasourceVariable(opts.datasourceInput) : v));
  const linked = panels.some((p) => p.fieldConfig?.defaults.links?.length);
  if (linked) variables.push(textboxVariable('queuescope_url', 'queuescope URL', opts.queuescopeURL));
  return {
    __inputs: [{ name: opts.datasourceInput, label: 'Prometheus', description: 'The Prometheus that scrapes queuescope', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: GRAFANA_VERSION },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ...panelTypes.map((t) => ({ type: 'panel' as const, id: t, name: PANEL_NAMES[t] ?? t, version: '' })),
    ],
    uid: opts.uid,
    title: opts.title,
    description: opts.description,
    tags: ['queuescope'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [{ type: 'dashboards', title: 'queuescope boards', tags: ['queuescope'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link', targetBlank: false, tooltip: '', url: '' }],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        {
          // Firing alerts from the rules in prometheus/rules, as markers on every time series.
          datasource: DATASOURCE,
          enable: true,
          hide: false,
          iconColor: 'red',
          name: 'Firing alerts',
          expr: 'ALERTS{alertstate="firing", job=~"$job"}',
          step: '60s',
          titleFormat: '{{alertname}}',
          textFormat: '{{severity}} {{queue}}',
          tagKeys: 'alertname,severity',
          useValueForTime: false,
        },
      ],
    },
    templating: { list: variables },
    panels,
  };
}
