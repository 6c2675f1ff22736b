/**
 * `GET /queues/:queue`: the task view of one queue. Self-contained like the
 * status page (inline CSS and script under a per-response CSP nonce, no
 * external asset); the view's data is embedded as JSON (`<` escaped) and
 * rendered by the script as text nodes. Every value from Redis also gets
 * `unicode-bidi: isolate` (class `iso`) on top of the escaping in `text.ts`,
 * so nothing can reorder the text around it.
 */
import type { Lang } from '../monitor/i18n.js';
import { escapeHtml, jsonForScript, pageHead } from '../monitor/page.js';
import { inspectStrings } from './i18n.js';
import { INSPECT_SCRIPT } from './page-script.js';
import { clean } from './text.js';
import type { QueueTasks } from './view.js';

const CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --bg: #ffffff; --line: #d0d7de; --head: #f6f8fa; --bad: #cf222e; --bad-bg: #ffebe9; --sel: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --line: #30363d; --head: #161b22; --bad: #ff7b72; --bad-bg: #3c1618; --sel: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 16px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px 16px; padding-top: 16px; }
h1 { font-size: 1.3rem; margin: 0; overflow-wrap: anywhere; }
h1 small { color: var(--muted); font-weight: normal; font-size: .9rem; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .9rem; }
a { color: var(--sel); }
.iso { unicode-bidi: isolate; }
#qs-alert { margin: 12px 0 0; padding: 10px 14px; border: 1px solid var(--bad); border-radius: 6px; background: var(--bad-bg); color: var(--bad); font-weight: 600; overflow-wrap: anywhere; }
.tools { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; margin: 14px 0 8px; }
.tools label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: 2px; }
.tools input { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); min-width: 14em; }
button { font: inherit; padding: 5px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--head); color: var(--fg); cursor: pointer; }
form { display: flex; gap: 6px; align-items: end; }
form button { flex: none; white-space: nowrap; }
form label { flex: 1 1 auto; }
#qs-tabs { display: flex; flex-wrap: wrap; gap: 6px; margin: 10px 0; }
.tab[aria-selected="true"] { border-color: var(--sel); color: var(--sel); font-weight: 600; }
.muted { color: var(--muted); font-size: .85rem; }
.meta { margin: 4px 0 6px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; font-size: .85rem; white-space: nowrap; }
td.id code { font-size: .85rem; overflow-wrap: anywhere; }
td.id, td.name { max-width: 16em; overflow-wrap: anywhere; }
td.name { min-width: 7em; }
td.id { min-width: 5em; }
td.error { color: var(--bad); max-width: 28em; overflow-wrap: anywhere; }
td.enq, td.failed { white-space: nowrap; }
td.payload pre { margin: 0; max-width: 32em; max-height: 9em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; }
td.empty { color: var(--muted); text-align: center; }
.badge { display: inline-block; margin-top: 2px; padding: 0 6px; border-radius: 10px; border: 1px solid var(--line); font-size: .8rem; }
#qs-result { margin: 8px 0 14px; padding: 8px; border: 1px dashed var(--line); border-radius: 6px; }
#qs-generated { color: var(--muted); font-size: .85rem; margin: 16px 0; }
@media (max-width: 640px) {
  body { font-size: 16px; }
  table, thead, tbody, tr, td { display: block; width: 100%; max-width: none !important; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tr { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 10px; padding: 4px 0; }
  tr[hidden] { display: none; }
  td { border: 0; padding: 3px 12px; }
  td::before { content: attr(data-label); display: block; color: var(--muted); font-size: .8rem; }
  td.empty::before { content: none; }
  td:empty { display: none; }
  td.payload pre { max-width: none; }
  .tools input { min-width: 0; width: 100%; }
  .tools label, form { width: 100%; }
}
`;

/** Options of {@link renderInspectPage}. */
export interface InspectPageOptions {
  readonly lang: Lang;
  readonly nonce: string;
  readonly data: QueueTasks;
  /** `?state=` asked for, if any (the tab opened first). */
  readonly state: string | undefined;
  /** The JSON API path, relative to the page (`../api/queues/<q>/tasks`). */
  readonly api: string;
  /** The query string every API call carries (`?framework=…&limit=…`). */
  readonly query: string;
  /** The page's own query string (for the language switch). */
  readonly selfQuery: string;
}

function shell(lang: Lang, nonce: string, title: string, body: string, script = ''): string {
  const t = inspectStrings(lang);
  return `${pageHead(t.locale, nonce, title, CSS)}
<body>
${body}
${script}
</body>
</html>
`;
}

/** Renders the task view (see the module comment). */
export function renderInspectPage(o: InspectPageOptions): string {
  const t = inspectStrings(o.lang);
  const e = escapeHtml;
  const other: Lang = o.lang === 'zh' ? 'en' : 'zh';
  const sep = o.selfQuery === '' ? '?' : `${o.selfQuery}&`;
  const config = { api: o.api, lookup: `${o.api}/`, query: o.query, state: o.state ?? null, strings: t, data: o.data };
  const body = `<header>
<h1><span class="iso">${e(clean(o.data.queue))}</span> <small>${e(o.data.framework)} · ${e(t.title)}</small></h1>
<nav><a href="../">${e(t.back)}</a> <a href="${e(o.api + o.query)}">${e(t.jsonLink)}</a> <a href="${e(`${sep}lang=${other}`)}" lang="${other === 'zh' ? 'zh-CN' : 'en'}">${e(t.switchLang)}</a></nav>
</header>
<main>
<div id="qs-alert" role="alert" hidden></div>
<noscript><p>${e(t.noscript)}</p></noscript>
<div class="tools">
<form id="qs-search" role="search"><label>${e(t.searchLabel)}<input id="qs-id" name="id" type="search" autocomplete="off" spellcheck="false"></label><button type="submit">${e(t.searchButton)}</button></form>
<label>${e(t.filterLabel)}<input id="qs-filter" type="search" autocomplete="off" spellcheck="false"></label>
<button type="button" id="qs-refresh">${e(t.refresh)}</button>
</div>
<div id="qs-result" aria-live="polite" hidden></div>
${o.data.payloads === 'hide' ? `<p class="muted">${e(t.payloadsHidden)}</p>` : ''}
<div id="qs-tabs" role="tablist"></div>
<div id="qs-panels"></div>
<p id="qs-generated"></p>
</main>`;
  const script = `<script type="application/json" id="qs-config">${jsonForScript(config)}</script>
<script nonce="${e(o.nonce)}">${INSPECT_SCRIPT}</script>`;
  return shell(o.lang, o.nonce, `${clean(o.data.queue)} · ${t.title}`, body, script);
}

/** A small page for an unknown queue (404) or an ambiguous name (409, with one link per framework). */
export function renderMessagePage(lang: Lang, nonce: string, queue: string, frameworks: readonly string[] = []): string {
  const t = inspectStrings(lang);
  const e = escapeHtml;
  const links = frameworks.map((f) => `<li><a href="?framework=${encodeURIComponent(f)}">${e(f)}</a></li>`).join('');
  const text = frameworks.length > 0 ? t.ambiguous : t.unknownQueue;
  const body = `<header><h1>queuescope</h1><nav><a href="../">${e(t.back)}</a></nav></header>
<main><p id="qs-message" class="iso">${e(text.split('{n}').join(queue))}</p>${links ? `<ul id="qs-frameworks">${links}</ul>` : ''}</main>`;
  return shell(lang, nonce, t.title, body);
}
