/**
 * The status page's two languages: Chinese (the team's, the default) and
 * English, picked from `?lang=` or the browser's `Accept-Language`.
 */

/** Languages the status page speaks. */
export type Lang = 'zh' | 'en';

/**
 * Every text of the status page. `{n}` and `{error}` are placeholders the page
 * script fills in; everything is inserted as text, never as HTML.
 */
export interface PageStrings {
  /** BCP 47 tag for `<html lang>` and number formatting. */
  readonly locale: string;
  readonly title: string;
  readonly statusHeading: string;
  readonly queuesHeading: string;
  readonly colModule: string;
  readonly colStatus: string;
  readonly colTotal: string;
  readonly colUpdated: string;
  readonly colRate: string;
  readonly colQueue: string;
  readonly colFramework: string;
  readonly colWaiting: string;
  readonly colActive: string;
  readonly colProcessed: string;
  readonly colFailed: string;
  readonly colOldest: string;
  readonly colQueueRate: string;
  readonly running: string;
  readonly stopped: string;
  readonly unknown: string;
  readonly unreachable: string;
  readonly backlog: string;
  readonly mysqlConnections: string;
  readonly perSecond: string;
  readonly perItemMs: string;
  readonly secondsAgo: string;
  readonly minutesAgo: string;
  readonly hoursAgo: string;
  readonly daysAgo: string;
  readonly seconds: string;
  readonly minutes: string;
  readonly hours: string;
  readonly days: string;
  readonly sampling: string;
  readonly noComponents: string;
  readonly noQueues: string;
  readonly loading: string;
  readonly redisDown: string;
  readonly fetchFailed: string;
  readonly updated: string;
  readonly refreshEvery: string;
  readonly threadsRunning: string;
  readonly slowQueries: string;
  readonly staleAfter: string;
  readonly group: string;
  readonly paused: string;
  /** Queue pager: `{from}`, `{to}`, `{total}`. */
  readonly queueRange: string;
  readonly prevPage: string;
  readonly nextPage: string;
  readonly metricsLink: string;
  readonly apiLink: string;
  readonly grafanaLink: string;
  readonly switchLang: string;
  readonly noscript: string;
}

const zh: PageStrings = {
  locale: 'zh-CN',
  title: 'queuescope 运行状态',
  statusHeading: '运行状态',
  queuesHeading: '队列',
  colModule: '模块',
  colStatus: '当前状态',
  colTotal: '总数',
  colUpdated: '最近更新时间',
  colRate: '速率',
  colQueue: '队列',
  colFramework: '类型',
  colWaiting: '待处理',
  colActive: '处理中',
  colProcessed: '已处理',
  colFailed: '失败',
  colOldest: '最早任务等待',
  colQueueRate: '处理速率',
  running: '运行中',
  stopped: '停止',
  unknown: '未知',
  unreachable: '无法连接',
  backlog: 'Redis 待处理队列',
  mysqlConnections: 'MySQL 连接数',
  perSecond: '{n} 条/秒',
  perItemMs: '{n}ms/条',
  secondsAgo: '{n} 秒前',
  minutesAgo: '{n} 分钟前',
  hoursAgo: '{n} 小时前',
  daysAgo: '{n} 天前',
  seconds: '{n} 秒',
  minutes: '{n} 分钟',
  hours: '{n} 小时',
  days: '{n} 天',
  sampling: '采样中…',
  noComponents: '配置中没有组件（components:）',
  noQueues: '没有发现队列',
  queueRange: '第 {from}–{to} 个队列，共 {total} 个',
  prevPage: '上一页',
  nextPage: '下一页',
  loading: '加载中…',
  redisDown: '无法连接 Redis：组件与队列数据暂不可用，页面会自动重试。',
  fetchFailed: '无法从 queuescope 获取数据（{error}），页面会自动重试。',
  updated: '数据更新于 {n}',
  refreshEvery: '每 {n} 秒自动刷新',
  threadsRunning: '运行中线程 {n}',
  slowQueries: '慢查询 {n}',
  staleAfter: '超过 {n} 秒没有心跳即视为停止',
  group: '消费组',
  paused: '已暂停',
  metricsLink: 'Prometheus 指标',
  apiLink: 'JSON 接口',
  grafanaLink: 'Grafana 仪表盘',
  switchLang: 'English',
  noscript: '此页面需要 JavaScript 才能显示实时数据；也可以直接查看 /api/monitor。',
};

const en: PageStrings = {
  locale: 'en',
  title: 'queuescope status',
  statusHeading: 'Status',
  queuesHeading: 'Queues',
  colModule: 'Module',
  colStatus: 'Status',
  colTotal: 'Total',
  colUpdated: 'Last update',
  colRate: 'Rate',
  colQueue: 'Queue',
  colFramework: 'Type',
  colWaiting: 'Waiting',
  colActive: 'Active',
  colProcessed: 'Processed',
  colFailed: 'Failed',
  colOldest: 'Oldest waiting',
  colQueueRate: 'Processing rate',
  running: 'running',
  stopped: 'stopped',
  unknown: 'unknown',
  unreachable: 'unreachable',
  backlog: 'Redis backlog',
  mysqlConnections: 'MySQL connections',
  perSecond: '{n}/s',
  perItemMs: '{n} ms/item',
  secondsAgo: '{n} s ago',
  minutesAgo: '{n} min ago',
  hoursAgo: '{n} h ago',
  daysAgo: '{n} d ago',
  seconds: '{n} s',
  minutes: '{n} min',
  hours: '{n} h',
  days: '{n} d',
  sampling: 'sampling…',
  noComponents: 'No components in the config (components:)',
  noQueues: 'No queues found',
  queueRange: 'Queues {from}–{to} of {total}',
  prevPage: 'Previous',
  nextPage: 'Next',
  loading: 'Loading…',
  redisDown: 'Redis is unreachable: component and queue data are unavailable. The page keeps retrying.',
  fetchFailed: 'Could not reach queuescope ({error}). The page keeps retrying.',
  updated: 'Data from {n}',
  refreshEvery: 'refreshes every {n} s',
  threadsRunning: 'threads running: {n}',
  slowQueries: 'slow queries: {n}',
  staleAfter: 'stopped when no heartbeat for {n} s',
  group: 'group',
  paused: 'paused',
  metricsLink: 'Prometheus metrics',
  apiLink: 'JSON API',
  grafanaLink: 'Grafana dashboards',
  switchLang: '中文',
  noscript: 'This page needs JavaScript for live data; /api/monitor has the same data as JSON.',
};

/** The strings of `lang`. */
export function strings(lang: Lang): PageStrings {
  return lang === 'en' ? en : zh;
}

/**
 * Picks the page language: `?lang=zh|en` wins; otherwise the `Accept-Language`
 * entry with the highest q-value that is Chinese or English (ties: the first
 * listed); Chinese when neither appears.
 *
 * @param acceptLanguage the header, e.g. `en-US,en;q=0.9,zh;q=0.8`
 * @param query the `lang` query parameter, if any
 */
export function pickLanguage(acceptLanguage: string | string[] | undefined, query?: unknown): Lang {
  if (query === 'en' || query === 'zh') return query;
  const header = Array.isArray(acceptLanguage) ? acceptLanguage.join(',') : (acceptLanguage ?? '');
  let best: { lang: Lang; q: number } | undefined;
  for (const part of header.split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const primary = tag.trim().split('-')[0];
    if (primary !== 'zh' && primary !== 'en') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? 'zh';
}
