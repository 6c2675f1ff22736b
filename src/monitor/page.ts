/**
 * `GET /`: the status page (shared/spec/monitor-api.md). One self-contained
 * HTML document — inline CSS and script, no external asset, no build step —
 * that polls `api/monitor` and renders the design notes' status table plus a
 * row per queue. Responsive: on a phone each table row becomes a card.
 *
 * Everything the server inserts is escaped (HTML text and attributes; JSON in
 * a data block with `<` escaped); the browser script inserts values as text
 * nodes only. A per-response CSP nonce lets only this page's own style and
 * script run.
 */
import { strings, type Lang } from './i18n.js';
import { PAGE_SCRIPT } from './page-script.js';

/** Options of {@link renderStatusPage}. */
export interface StatusPageOptions {
  readonly lang: Lang;
  /** `ui.grafanaUrl`; linked only when it is an absolute http(s) URL. */
  readonly grafanaUrl: string;
  /** Poll interval of the page, milliseconds. */
  readonly refreshMs: number;
  /** Nonce for the inline `<style>` and `<script>` (must match the CSP header). */
  readonly nonce: string;
  /** Queues per page of the queue table (the API's `limit`). Default {@link DEFAULT_PAGE_SIZE}. */
  readonly pageSize?: number;
}

/** Queue rows the page asks for at a time: a browser table of 100,000 rows helps nobody. */
export const DEFAULT_PAGE_SIZE = 200;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the
 * JS line separators are escaped, so no value can close the element.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The start of every page up to `</head>`: document language `locale` (BCP 47), the
 * viewport and colour-scheme metas, no referrer, an empty favicon (no extra request),
 * `title` and the page's `css` under the CSP `nonce`.
 */
export function pageHead(locale: string, nonce: string, title: string, css: string): string {
  const e = escapeHtml;
  return `<!doctype html>
<html lang="${e(locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<link rel="icon" href="data:,">
<style nonce="${e(nonce)}">${css}</style>
</head>`;
}

/** `url` when it is an absolute http(s) URL (no `javascript:`), else `undefined`. */
export function safeHttpUrl(url: string): string | undefined {
  const trimmed = url.trim();
  if (trimmed === '') return undefined;
  try {
    const parsed = new URL(trimmed);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The Content-Security-Policy header value for a page rendered with `nonce`. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "connect-src 'self'",
    "img-src 'self' data:",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --bg: #ffffff; --line: #d0d7de; --head: #f6f8fa; --bad: #cf222e; --bad-bg: #ffebe9; --ok: #1a7f37; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --line: #30363d; --head: #161b22; --bad: #ff7b72; --bad-bg: #3c1618; --ok: #3fb950; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1040px; margin: 0 auto; padding: 0 16px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px 16px; padding-top: 16px; }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 24px 0 8px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .9rem; }
a { color: #0969da; }
@media (prefers-color-scheme: dark) { a { color: #4493f8; } }
#qs-alert { margin: 16px 0 0; padding: 10px 14px; border: 1px solid var(--bad); border-radius: 6px; background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: var(--head); font-weight: 600; font-size: .9rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { font-weight: 600; white-space: normal; overflow-wrap: anywhere; }
tr.group td { color: var(--muted); font-size: .9rem; }
tr.group td.name { font-weight: normal; padding-left: 24px; }
tr.stopped td.status { color: var(--bad); font-weight: 600; }
tr.running td.status { color: var(--ok); }
td.empty { color: var(--muted); text-align: center; white-space: normal; }
body.stale main table { opacity: .55; }
#qs-updated, footer { color: var(--muted); font-size: .85rem; }
footer { margin: 24px auto; }
@media (max-width: 640px) {
  body { font-size: 16px; }
  table, thead, tbody, tr, td { display: block; width: 100%; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tr { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 10px; padding: 4px 0; }
  tr.group { margin-left: 16px; width: calc(100% - 16px); }
  td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 4px 12px; white-space: normal; text-align: right; }
  td.num { text-align: right; }
  td::before { content: attr(data-label); color: var(--muted); text-align: left; flex: none; }
  td.name { font-size: 1.05rem; justify-content: flex-start; text-align: left; }
  td.name::before { content: none; }
  td.empty { justify-content: center; }
  td.empty::before { content: none; }
  td:empty { display: none; }
}
`;

/**
 * Renders the status page for `options.lang`. The page fetches
 * `api/monitor` (relative, so it also works behind a path-prefix proxy).
 * @returns the complete HTML document
 */
export function renderStatusPage(options: StatusPageOptions): string {
  const t = strings(options.lang);
  const e = escapeHtml;
  const nonce = e(options.nonce);
  const grafana = safeHttpUrl(options.grafanaUrl);
  const other: Lang = options.lang === 'zh' ? 'en' : 'zh';
  const links = [
    `<a href="metrics">${e(t.metricsLink)}</a>`,
    grafana ? `<a href="${e(grafana)}" target="_blank" rel="noopener noreferrer" id="grafana-link">${e(t.grafanaLink)}</a>` : '',
    `<a href="api/monitor">${e(t.apiLink)}</a>`,
    `<a href="?lang=${other}" lang="${other === 'zh' ? 'zh-CN' : 'en'}">${e(t.switchLang)}</a>`,
  ].filter(Boolean);
  const config = { api: 'api/monitor', refreshMs: options.refreshMs, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE, strings: t };
  const th = (text: string, cls = ''): string => `<th scope="col"${cls ? ` class="${cls}"` : ''}>${e(text)}</th>`;
  return `${pageHead(t.locale, nonce, t.title, CSS)}
<body data-redis="unknown">
<header>
<h1>queuescope</h1>
<nav>${links.join('\n')}</nav>
</header>
<main>
<div id="qs-alert" role="alert" hidden></div>
<noscript><p>${e(t.noscript)}</p></noscript>
<section aria-labelledby="status-heading">
<h2 id="status-heading">${e(t.statusHeading)}</h2>
<div class="scroll"><table id="status-table">
<thead><tr>${th(t.colModule)}${th(t.colStatus)}${th(t.colTotal, 'num')}${th(t.colUpdated)}${th(t.colRate)}</tr></thead>
<tbody id="status-body"><tr><td class="empty" colspan="5">${e(t.loading)}</td></tr></tbody>
</table></div>
</section>
<section aria-labelledby="queues-heading">
<h2 id="queues-heading">${e(t.queuesHeading)}</h2>
<div class="scroll"><table id="queue-table">
<thead><tr>${th(t.colQueue)}${th(t.colFramework)}${th(t.colWaiting, 'num')}${th(t.colActive, 'num')}${th(t.colProcessed, 'num')}${th(t.colFailed, 'num')}${th(t.colOldest, 'num')}${th(t.colQueueRate)}</tr></thead>
<tbody id="queue-body"><tr><td class="empty" colspan="8">${e(t.loading)}</td></tr></tbody>
</table></div>
<nav id="queue-pager" class="pager" hidden><button type="button" id="queue-prev">${e(t.prevPage)}</button> <span id="queue-range"></span> <button type="button" id="queue-next">${e(t.nextPage)}</button></nav>
</section>
<p id="qs-updated" aria-live="polite"></p>
</main>
<script type="application/json" id="qs-config">${jsonForScript(config)}</script>
<script nonce="${nonce}">${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
