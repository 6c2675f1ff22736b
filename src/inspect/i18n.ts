/**
 * The task view's texts in Chinese (the default) and English; the language
 * is picked like the status page's (`monitor/i18n.ts` `pickLanguage`).
 */
import type { Lang } from '../monitor/i18n.js';
import { NOTES, type NoteKey } from './types.js';

/** Every text of the task view; `{n}` is filled in by the page script (as text). */
export interface InspectStrings {
  readonly locale: string;
  readonly title: string;
  readonly back: string;
  readonly jsonLink: string;
  readonly switchLang: string;
  readonly states: Readonly<Record<string, string>>;
  readonly colId: string;
  readonly colName: string;
  readonly colEnqueued: string;
  readonly colAttempts: string;
  readonly colError: string;
  readonly colFailedAt: string;
  readonly colDetails: string;
  readonly colPayload: string;
  readonly searchLabel: string;
  readonly searchButton: string;
  readonly filterLabel: string;
  readonly notFound: string;
  readonly searching: string;
  readonly lookupResult: string;
  readonly empty: string;
  readonly noMatch: string;
  readonly refresh: string;
  readonly redisDown: string;
  readonly fetchFailed: string;
  readonly problems: string;
  readonly total: string;
  readonly showing: string;
  readonly ago: string;
  readonly consumer: string;
  readonly group: string;
  readonly idle: string;
  readonly deliveries: string;
  readonly due: string;
  readonly leaseExpired: string;
  readonly bytes: string;
  readonly truncated: string;
  readonly payloadsHidden: string;
  readonly unknownQueue: string;
  readonly ambiguous: string;
  readonly noscript: string;
  readonly generated: string;
  /** second / minute / hour / day units of ages */
  readonly units: readonly [string, string, string, string];
  /** translations of `NOTES` (`types.ts`) */
  readonly notes: Readonly<Record<NoteKey, string>>;
}

const zh: InspectStrings = {
  locale: 'zh-CN',
  title: '队列任务',
  back: '← 运行状态',
  jsonLink: 'JSON 接口',
  switchLang: 'English',
  states: { waiting: '待处理', scheduled: '定时', retry: '重试中', dead: '死信', active: '处理中', stuck: '卡住', completed: '已完成' },
  colId: '任务 ID',
  colName: '类型',
  colEnqueued: '入队时间',
  colAttempts: '尝试次数',
  colError: '最近错误',
  colFailedAt: '失败时间',
  colDetails: '详情',
  colPayload: '内容预览',
  searchLabel: '按任务 ID 查找',
  searchButton: '查找',
  filterLabel: '筛选当前列表',
  notFound: '没有找到任务 {n}',
  searching: '查找中…',
  lookupResult: '查找结果',
  empty: '此状态下没有任务',
  noMatch: '没有符合筛选条件的任务',
  refresh: '刷新',
  redisDown: '无法连接 Redis：{n}',
  fetchFailed: '无法获取数据（{n}）',
  problems: '部分数据无法读取：',
  total: '共 {n} 个',
  showing: '显示最早的 {n} 个',
  ago: '{n}前',
  consumer: '消费者',
  group: '消费组',
  idle: '空闲',
  deliveries: '投递次数',
  due: '计划时间',
  leaseExpired: '租约到期',
  bytes: '{n} 字节',
  truncated: '（已截断）',
  payloadsHidden: '内容预览已关闭（ui.payloads: hide）',
  unknownQueue: '未知队列：{n}',
  ambiguous: '多个框架都有名为 {n} 的队列，请选择：',
  noscript: '此页面需要 JavaScript；也可以直接查看 JSON 接口。',
  generated: '数据读取于 {n}',
  units: [' 秒', ' 分钟', ' 小时', ' 天'],
  notes: {
    stuckAmongActive: '在最早的 {n} 个处理中任务里，锁已失效的任务',
    unorderedSet: '集合没有顺序：这是部分失败任务，不一定是最早的',
    busyProcesses: '{n} 个进程正在执行的任务（最多读取 20 个进程）',
    globalFiltered: '来自全局集合：其中最早的 {n} 条里属于此队列的任务',
    perGroup: '按消费组分别列出',
  },
};

const en: InspectStrings = {
  locale: 'en',
  title: 'Queue tasks',
  back: '← Status',
  jsonLink: 'JSON API',
  switchLang: '中文',
  states: { waiting: 'Waiting', scheduled: 'Scheduled', retry: 'Retry', dead: 'Dead', active: 'Active', stuck: 'Stuck', completed: 'Completed' },
  colId: 'Task ID',
  colName: 'Type',
  colEnqueued: 'Enqueued',
  colAttempts: 'Attempts',
  colError: 'Last error',
  colFailedAt: 'Failed at',
  colDetails: 'Details',
  colPayload: 'Payload preview',
  searchLabel: 'Find by task ID',
  searchButton: 'Find',
  filterLabel: 'Filter this list',
  notFound: 'No task {n} found',
  searching: 'Searching…',
  lookupResult: 'Lookup result',
  empty: 'No tasks in this state',
  noMatch: 'No task matches the filter',
  refresh: 'Refresh',
  redisDown: 'Redis is unreachable: {n}',
  fetchFailed: 'Could not load data ({n})',
  problems: 'Some data could not be read:',
  total: '{n} in total',
  showing: 'showing the {n} oldest',
  ago: '{n} ago',
  consumer: 'consumer',
  group: 'group',
  idle: 'idle',
  deliveries: 'deliveries',
  due: 'due',
  leaseExpired: 'lease expired',
  bytes: '{n} bytes',
  truncated: ' (cut)',
  payloadsHidden: 'Payload previews are off (ui.payloads: hide)',
  unknownQueue: 'Unknown queue: {n}',
  ambiguous: 'Several frameworks have a queue named {n}; pick one:',
  noscript: 'This page needs JavaScript; the JSON API has the same data.',
  generated: 'Read at {n}',
  units: [' s', ' min', ' h', ' d'],
  notes: NOTES,
};

/** The strings of `lang`. */
export function inspectStrings(lang: Lang): InspectStrings {
  return lang === 'en' ? en : zh;
}
