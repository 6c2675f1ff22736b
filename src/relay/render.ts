/**
 * Turns Alertmanager notifications into robot message text: the digest of
 * queued notifications, the template view model, the built-in Chinese
 * markdown template, and byte-exact fitting into a robot's size limit.
 */
import { compileTemplate, TemplateError, type CompiledTemplate } from './template.js';
import { cutUtf8, ellipsizeUtf8, inertMarkdown, linkTarget, utf8Bytes } from './text.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';

/**
 * One or more notifications for the same robot, merged: alerts are
 * de-duplicated by fingerprint (a later notification's copy of an alert
 * replaces the earlier one, so the digest shows each alert's latest state).
 */
export interface Digest {
  /** distinct alerts, in arrival order */
  readonly alerts: WebhookAlert[];
  /** sum of Alertmanager's `truncatedAlerts` (alerts it left out because of `max_alerts`) */
  readonly truncatedAlerts: number;
  /** how many notifications were merged (1 = a plain notification) */
  readonly notifications: number;
  readonly receiver: string;
  readonly externalURL: string;
  /** labels common to every merged notification's `commonLabels` */
  readonly commonLabels: Record<string, string>;
  readonly groupLabels: Record<string, string>;
}

function alertKey(a: WebhookAlert): string {
  if (a.fingerprint) return a.fingerprint;
  return JSON.stringify(Object.entries(a.labels).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** Merges notifications (oldest first) into one {@link Digest}. @throws Error when `payloads` is empty. */
export function mergePayloads(payloads: readonly WebhookPayload[]): Digest {
  const last = payloads[payloads.length - 1];
  if (!last) throw new Error('mergePayloads needs at least one notification');
  const alerts = new Map<string, WebhookAlert>();
  let truncatedAlerts = 0;
  let commonLabels: Record<string, string> = { ...(payloads[0]?.commonLabels ?? {}) };
  let groupLabels: Record<string, string> = { ...(payloads[0]?.groupLabels ?? {}) };
  for (const p of payloads) {
    for (const a of p.alerts) alerts.set(alertKey(a), a);
    truncatedAlerts += p.truncatedAlerts;
    commonLabels = Object.fromEntries(Object.entries(commonLabels).filter(([k, v]) => p.commonLabels[k] === v));
    groupLabels = Object.fromEntries(Object.entries(groupLabels).filter(([k, v]) => p.groupLabels[k] === v));
  }
  return {
    alerts: [...alerts.values()],
    truncatedAlerts,
    notifications: payloads.length,
    receiver: last.receiver,
    externalURL: last.externalURL,
    commonLabels,
    groupLabels,
  };
}

/** Byte caps on single fields, so one alert always fits even the 4096-byte WeCom limit. */
const FIELD_CAP = { label: 256, summary: 512, description: 1500, url: 2048 } as const;

/** Byte budget of an alert's line of links. */
const LINK_LINE_CAP = 2600;

/** Language of the built-in templates and fixed texts (`notify.language`). */
export type MessageLanguage = 'zh' | 'en';

/** `encodeURIComponent` plus the characters it leaves that end or open markdown (`(`, `)`, `*`, `!`, `'`). */
const encodeComponent = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Labels that identify an alert well enough for a silence when all labels make too long a link. */
const SILENCE_CORE_LABELS = ['alertname', 'instance', 'job', 'queue', 'framework', 'group', 'stream', 'component', 'channel', 'target', 'collector', 'severity'];

/**
 * Alertmanager's matcher list for `labels`: `{name="value",…}`, sorted by
 * name, values escaped as Alertmanager's matcher parser reads them (`\\`,
 * `\"`, `\n`; pkg/labels/parse.go).
 */
export function alertmanagerFilter(labels: Readonly<Record<string, string>>): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}="${esc(labels[n] ?? '')}"`).join(',')}}`;
}

/**
 * The Alertmanager UI's pre-filled "New silence" form for an alert:
 * `<externalURL>/#/silences/new?filter=<URL-encoded {label="value",…}>`
 * (the form reads `filter` and `comment`). All labels, so the silence
 * matches exactly this alert; when that makes a link longer than `maxBytes`,
 * only the identifying labels. '' when `externalURL` is not an http(s) URL.
 */
export function silenceURL(externalURL: string, labels: Readonly<Record<string, string>>, maxBytes: number = FIELD_CAP.url): string {
  const base = linkTarget(externalURL);
  if (!base) return '';
  const make = (l: Readonly<Record<string, string>>) => `${base.replace(/\/+$/, '')}/#/silences/new?filter=${encodeComponent(alertmanagerFilter(l))}`;
  const full = make(labels);
  if (utf8Bytes(full) <= maxBytes) return full;
  const core = make(Object.fromEntries(Object.entries(labels).filter(([k]) => SILENCE_CORE_LABELS.includes(k))));
  return utf8Bytes(core) <= maxBytes ? core : '';
}

/**
 * The sidecar's view of a queue: `<externalURL>/queues/<queue>?framework=<framework>`
 * (both URL-encoded; `framework` only when the alert has it). '' without a
 * base URL or a queue.
 */
export function queueViewURL(externalURL: string | undefined, queue: string | undefined, framework: string | undefined): string {
  const base = linkTarget(externalURL);
  if (!base || !queue) return '';
  return `${base.replace(/\/+$/, '')}/queues/${encodeComponent(queue)}${framework ? `?framework=${encodeComponent(framework)}` : ''}`;
}

/** Fixed texts of the messages, per language. */
const TEXTS = {
  zh: { firing: '告警', resolved: '恢复', graph: '查看图表', silence: '静默', dashboard: '看板', queue: '队列详情', runbook: '处理手册', notice: '告警通知', more: (first: string, n: number) => `${first} 等 ${n} 项告警` },
  en: { firing: 'FIRING', resolved: 'RESOLVED', graph: 'Graph', silence: 'Silence', dashboard: 'Dashboard', queue: 'Queue', runbook: 'Runbook', notice: 'Alert notification', more: (first: string, n: number) => `${first} and ${n - 1} more` },
} as const;

/** Links a message can carry besides the payload's own (`notify.externalURL`, `notify.dashboardURL`). */
export interface MessageLinks {
  /** this sidecar as users reach it: links to its queue views */
  externalURL?: string;
  /** a Grafana dashboard (or any page) to link from every firing alert */
  dashboardURL?: string;
}

/** Formats an RFC 3339 time as `YYYY-MM-DD HH:mm:ss` in `timeZone`; '' for Go's zero time or an unparsable value. */
export function formatTime(iso: string | undefined, timeZone: string): string {
  if (!iso || iso.startsWith('0001-01-01')) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** The per-alert fields a template sees (strings capped in bytes; times already in the configured zone). */
export interface AlertView {
  status: 'firing' | 'resolved';
  /** 告警 / 恢复 (FIRING / RESOLVED in English) */
  statusText: string;
  alertname: string;
  severity: string;
  queue: string;
  framework: string;
  instance: string;
  job: string;
  summary: string;
  description: string;
  /** the `runbook_url` annotation when it is an http(s) URL, else '' */
  runbookURL: string;
  /** `YYYY-MM-DD HH:mm:ss` in the configured time zone */
  startsAt: string;
  /** '' while firing */
  endsAt: string;
  /** Prometheus' link to the rule's expression (http(s) only, else '') */
  generatorURL: string;
  /** Alertmanager's pre-filled "New silence" form for exactly this alert; '' without the payload's `externalURL` */
  silenceURL: string;
  /** `notify.dashboardURL`, '' when unset */
  dashboardURL: string;
  /** this sidecar's view of the alert's queue (`notify.externalURL` + `/queues/…`); '' without either */
  queueURL: string;
  /** the alert's links as one markdown line (`[查看图表](…) · [静默](…) · …`), '' when there are none */
  linkLine: string;
  fingerprint: string;
  /** label values and annotations, made inert for markdown (see text.ts `inertMarkdown`) */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** labels other than alertname, sorted by name: `[{name, value}]` */
  labelList: { name: string; value: string }[];
}

/** Everything a template can use. Counts are totals; `firing`/`resolved` hold only the alerts that fit. */
export interface MessageView {
  status: 'firing' | 'resolved';
  statusText: string;
  title: string;
  receiver: string;
  externalURL: string;
  timeZone: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  firing: AlertView[];
  resolved: AlertView[];
  firingCount: number;
  resolvedCount: number;
  /** alerts not shown: cut for size plus Alertmanager's `truncatedAlerts`; 0 when nothing is missing */
  omitted: number;
  /** notifications merged into this message when more than one, else 0 */
  merged: number;
}

const inertLabels = (l: Readonly<Record<string, string>>): Record<string, string> => Object.fromEntries(Object.entries(l).map(([k, v]) => [inertMarkdown(k), inertMarkdown(v)]));

/** What a view needs besides the alert: zone, language, links. */
interface ViewContext {
  timeZone: string;
  lang: MessageLanguage;
  externalURL: string;
  links: MessageLinks;
}

function alertView(a: WebhookAlert, ctx: ViewContext): AlertView {
  // alert-supplied text is made inert first, then capped (escaping can only grow it)
  const cap = (s: string | undefined, n: number): string => ellipsizeUtf8(inertMarkdown(s ?? ''), n);
  const labels = Object.fromEntries(Object.entries(a.labels).map(([k, v]) => [cap(k, FIELD_CAP.label), cap(v, FIELD_CAP.label)]));
  const annotations = Object.fromEntries(Object.entries(a.annotations).map(([k, v]) => [cap(k, FIELD_CAP.label), cap(v, FIELD_CAP.description)]));
  const t = TEXTS[ctx.lang];
  const url = (u: string | undefined): string => {
    const safe = linkTarget(u);
    return utf8Bytes(safe) <= FIELD_CAP.url ? safe : '';
  };
  const generatorURL = url(a.generatorURL);
  const silence = a.status === 'firing' ? silenceURL(ctx.externalURL, a.labels) : '';
  const dashboardURL = url(ctx.links.dashboardURL);
  const queueURL = url(queueViewURL(ctx.links.externalURL, a.labels.queue, a.labels.framework));
  const runbookURL = url(a.annotations.runbook_url);
  const linkLine = [
    [t.graph, generatorURL],
    [t.silence, silence],
    [t.dashboard, dashboardURL],
    [t.queue, queueURL],
    [t.runbook, runbookURL],
  ]
    .filter(([, u]) => u)
    .map(([title, u]) => `[${title}](${u})`)
    // keep one alert inside WeCom's 4096 bytes: links past the budget are left out, the first (graph, silence) kept
    .reduce<string[]>((kept, link) => (utf8Bytes([...kept, link].join(' · ')) <= LINK_LINE_CAP ? [...kept, link] : kept), [])
    .join(' · ');
  return {
    status: a.status,
    statusText: a.status === 'firing' ? t.firing : t.resolved,
    alertname: labels.alertname ?? '',
    severity: labels.severity ?? '',
    queue: labels.queue ?? '',
    framework: labels.framework ?? '',
    instance: labels.instance ?? '',
    job: labels.job ?? '',
    summary: cap(a.annotations.summary, FIELD_CAP.summary),
    description: cap(a.annotations.description, FIELD_CAP.description),
    runbookURL,
    startsAt: formatTime(a.startsAt, ctx.timeZone),
    endsAt: a.status === 'resolved' ? formatTime(a.endsAt, ctx.timeZone) : '',
    generatorURL,
    silenceURL: silence,
    dashboardURL,
    queueURL,
    linkLine,
    fingerprint: inertMarkdown(a.fingerprint),
    labels,
    annotations,
    labelList: Object.entries(labels)
      .filter(([k]) => k !== 'alertname')
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
  };
}

/** `QueueBacklogHigh · exam-tasks`, `A 等 3 项告警` (`A and 2 more`): a short title for a digest, made inert. */
export function digestTitle(d: Digest, lang: MessageLanguage = 'zh'): string {
  const t = TEXTS[lang];
  const names = [...new Set(d.alerts.map((a) => inertMarkdown(a.labels.alertname ?? '')))].filter(Boolean);
  const queues = [...new Set(d.alerts.map((a) => inertMarkdown(a.labels.queue ?? '')))];
  let title = names.length === 0 ? t.notice : names.length === 1 ? names[0]! : t.more(names[0]!, names.length);
  if (queues.length === 1 && queues[0]) title += ` · ${queues[0]}`;
  return ellipsizeUtf8(title, 128);
}

/** The words of a built-in template; the layout is {@link builtInTemplate}'s, the same in every language. */
interface TemplateWords {
  readonly firingHeading: string;
  readonly resolvedHeading: string;
  /** between the heading and the title */
  readonly colon: string;
  /** the merged-notifications line, with `{{merged}}` */
  readonly merged: string;
  /** the firing section's heading, with `{{firingCount}}` */
  readonly firingSection: string;
  /** the resolved section's heading, with `{{resolvedCount}}` */
  readonly resolvedSection: string;
  readonly queue: string;
  /** what goes before and after `{{framework}}` */
  readonly framework: readonly [string, string];
  readonly instance: string;
  readonly summary: string;
  readonly description: string;
  readonly since: string;
  readonly ended: string;
  /** the omitted-alerts line, with `{{omitted}}` */
  readonly omitted: string;
  /** the footer up to `{{timeZone}}` */
  readonly footer: string;
}

/**
 * A built-in template: markdown that renders in both DingTalk and WeCom
 * (headings, bold, links, quotes and plain lines only). A firing and a
 * resolved alert start with the same lines.
 */
function builtInTemplate(w: TemplateWords): string {
  const alertHead = `
**{{alertname}}**{{#severity}} [{{severity}}]{{/severity}}
{{#queue}}
- ${w.queue}{{queue}}{{#framework}}${w.framework[0]}{{framework}}${w.framework[1]}{{/framework}}
{{/queue}}
{{#instance}}
- ${w.instance}{{instance}}
{{/instance}}
{{#summary}}
- ${w.summary}{{summary}}
{{/summary}}
`;
  return `### {{#firingCount}}${w.firingHeading}{{/firingCount}}{{^firingCount}}${w.resolvedHeading}{{/firingCount}}${w.colon}{{title}}
{{#merged}}

> ${w.merged}
{{/merged}}
{{#firingCount}}

**${w.firingSection}**
{{#firing}}
${alertHead}{{#description}}
- ${w.description}{{description}}
{{/description}}
- ${w.since}{{startsAt}}
{{#linkLine}}
- {{linkLine}}
{{/linkLine}}
{{/firing}}
{{/firingCount}}
{{#resolvedCount}}

**${w.resolvedSection}**
{{#resolved}}
${alertHead}- ${w.since}{{startsAt}}
{{#endsAt}}
- ${w.ended}{{endsAt}}
{{/endsAt}}
{{/resolved}}
{{/resolvedCount}}
{{#omitted}}

${w.omitted}
{{/omitted}}

> ${w.footer}{{timeZone}}{{#externalURL}} · [Alertmanager]({{externalURL}}){{/externalURL}}
`;
}

/** The built-in template: Chinese. */
export const DEFAULT_TEMPLATE = builtInTemplate({
  firingHeading: '🔴 告警',
  resolvedHeading: '✅ 恢复',
  colon: '：',
  merged: '合并了 {{merged}} 条通知',
  firingSection: '告警中（{{firingCount}}）',
  resolvedSection: '已恢复（{{resolvedCount}}）',
  queue: '队列：',
  framework: ['（', '）'],
  instance: '实例：',
  summary: '摘要：',
  description: '详情：',
  since: '开始：',
  ended: '恢复：',
  omitted: '…另有 {{omitted}} 条告警未显示',
  footer: 'queuescope · 时区 ',
});

/** The built-in template in English (`notify.language: en`), the same layout. */
export const DEFAULT_TEMPLATE_EN = builtInTemplate({
  firingHeading: '🔴 FIRING',
  resolvedHeading: '✅ RESOLVED',
  colon: ': ',
  merged: '{{merged}} notifications merged',
  firingSection: 'Firing ({{firingCount}})',
  resolvedSection: 'Resolved ({{resolvedCount}})',
  queue: 'Queue: ',
  framework: [' (', ')'],
  instance: 'Instance: ',
  summary: 'Summary: ',
  description: 'Details: ',
  since: 'Since: ',
  ended: 'Resolved: ',
  omitted: '…{{omitted}} more alerts not shown',
  footer: 'queuescope · time zone ',
});

/** The built-in templates by language. */
export const DEFAULT_TEMPLATES: Readonly<Record<MessageLanguage, string>> = { zh: DEFAULT_TEMPLATE, en: DEFAULT_TEMPLATE_EN };

const defaultCompiled: Record<MessageLanguage, CompiledTemplate> = { zh: compileTemplate(DEFAULT_TEMPLATE), en: compileTemplate(DEFAULT_TEMPLATE_EN) };

/** What {@link renderMessage} produced. */
export interface RenderedMessage {
  /** short title (DingTalk `markdown.title`) */
  title: string;
  /** the full text including the mention suffix; never longer than `maxBytes` UTF-8 bytes */
  text: string;
  /** alerts in the digest */
  total: number;
  /** alerts shown in full */
  shown: number;
  /** true when alerts were left out (or the header itself was cut) to fit `maxBytes` */
  truncated: boolean;
  hasFiring: boolean;
  /** set when a custom template failed and the default one was used instead */
  fallbackReason?: string;
}

/** Options of {@link renderMessage}. */
export interface RenderOptions {
  /** IANA zone for times in the text, e.g. `Asia/Shanghai` */
  timeZone: string;
  /** the robot's limit for the text field, in UTF-8 bytes */
  maxBytes: number;
  /** appended after the rendered text when the digest has firing alerts (mentions); counted in `maxBytes` */
  mentionSuffix?: string;
  /** a compiled custom template; the default when absent */
  template?: CompiledTemplate;
  /** language of the built-in template and the fixed texts; default zh */
  language?: MessageLanguage;
  /** links to the sidecar's queue views and a dashboard (`notify.externalURL`, `notify.dashboardURL`) */
  links?: MessageLinks;
}

/**
 * Renders a digest into at most `maxBytes` UTF-8 bytes. When everything does
 * not fit, keeps the header and as many whole alerts as fit (firing first),
 * and the template's `omitted` count says how many more there are (plus
 * Alertmanager's `truncatedAlerts`). If even the header does not fit, the
 * text is cut on a character boundary and ends with `…`.
 * A custom template that throws falls back to the default one and says why
 * in `fallbackReason`.
 */
export function renderMessage(digest: Digest, opts: RenderOptions): RenderedMessage {
  const lang = opts.language ?? 'zh';
  const ctx: ViewContext = { timeZone: opts.timeZone, lang, externalURL: digest.externalURL, links: opts.links ?? {} };
  const firingAlerts = digest.alerts.filter((a) => a.status === 'firing').map((a) => alertView(a, ctx));
  const resolvedAlerts = digest.alerts.filter((a) => a.status === 'resolved').map((a) => alertView(a, ctx));
  const total = firingAlerts.length + resolvedAlerts.length;
  const hasFiring = firingAlerts.length > 0;
  const suffix = hasFiring ? (opts.mentionSuffix ?? '') : '';
  const budget = opts.maxBytes - utf8Bytes(suffix);
  const title = digestTitle(digest, lang);
  const status = hasFiring ? 'firing' : 'resolved';

  const viewFor = (k: number): MessageView => ({
    status,
    statusText: hasFiring ? TEXTS[lang].firing : TEXTS[lang].resolved,
    title,
    receiver: inertMarkdown(digest.receiver),
    externalURL: ((u) => (utf8Bytes(u) <= FIELD_CAP.url ? u : ''))(linkTarget(digest.externalURL)),
    timeZone: opts.timeZone,
    groupLabels: inertLabels(digest.groupLabels),
    commonLabels: inertLabels(digest.commonLabels),
    firing: firingAlerts.slice(0, k),
    resolved: resolvedAlerts.slice(0, Math.max(0, k - firingAlerts.length)),
    firingCount: firingAlerts.length,
    resolvedCount: resolvedAlerts.length,
    omitted: total - k + digest.truncatedAlerts,
    merged: digest.notifications > 1 ? digest.notifications : 0,
  });

  const fit = (tpl: CompiledTemplate): { text: string; shown: number; cut: boolean } => {
    const cache = new Map<number, string>();
    const render = (k: number): string => {
      let t = cache.get(k);
      if (t === undefined) {
        t = tpl.render(viewFor(k) as unknown as Record<string, unknown>);
        cache.set(k, t);
      }
      return t;
    };
    const fits = (k: number): boolean => utf8Bytes(render(k)) <= budget;
    if (fits(total)) return { text: render(total), shown: total, cut: false };
    if (!fits(0)) return { text: `${cutUtf8(render(0), budget - 3)}…`, shown: 0, cut: true };
    let lo = 0; // fits
    let hi = total; // does not fit
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    return { text: render(lo), shown: lo, cut: true };
  };

  let result: { text: string; shown: number; cut: boolean };
  let fallbackReason: string | undefined;
  if (opts.template) {
    try {
      result = fit(opts.template);
      if (result.text.trim() === '') throw new TemplateError('rendered an empty message');
    } catch (err) {
      fallbackReason = err instanceof Error ? err.message : String(err);
      result = fit(defaultCompiled[lang]);
    }
  } else {
    result = fit(defaultCompiled[lang]);
  }
  return {
    title,
    text: result.text + suffix,
    total,
    shown: result.shown,
    truncated: result.cut,
    hasFiring,
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
  };
}
