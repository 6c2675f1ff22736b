/**
 * The links of a chat message (silence form, generator, dashboard, the
 * sidecar's queue view, runbook), the English template, WeCom markdown_v2,
 * and alert-supplied text made inert: by examples and, for hostile labels and
 * annotations, by fast-check properties (QUEUESCOPE_FUZZ_RUNS for longer runs).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertmanagerFilter, mergePayloads, queueViewURL, renderMessage, silenceURL, type RenderOptions } from '../../src/relay/render.js';
import { DINGTALK_MAX_TEXT_BYTES, WECOM_MAX_MARKDOWN_BYTES, dingtalkTarget, wecomTarget } from '../../src/relay/robots.js';
import { inertMarkdown, linkTarget, utf8Bytes } from '../../src/relay/text.js';
import type { WebhookAlert } from '../../src/relay/payload.js';
import { makeAlert, makePayload } from './fixtures.js';

const RUNS = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 200);
const AM = 'http://alertmanager:9093';
const render = (alerts: WebhookAlert[], opts: Partial<RenderOptions> = {}) =>
  renderMessage(mergePayloads([makePayload(alerts, { externalURL: AM })]), { timeZone: 'Asia/Shanghai', maxBytes: DINGTALK_MAX_TEXT_BYTES, ...opts });

describe('message links', () => {
  it('a firing alert links its graph, a pre-filled silence, the dashboard, the queue view and the runbook', () => {
    const m = render([makeAlert(1)], { links: { externalURL: 'https://qs.example.com/', dashboardURL: 'https://grafana.example.com/d/queuescope-queues' } });
    const filter = encodeURIComponent('{alertname="QueueBacklogHigh",framework="list",instance="queuescope:9640",job="queuescope",queue="queue-1",severity="critical"}');
    expect(m.text).toContain(
      `- [查看图表](http://prometheus:9090/graph?g0.expr=queue_tasks&i=1) · [静默](${AM}/#/silences/new?filter=${filter}) · [看板](https://grafana.example.com/d/queuescope-queues) · [队列详情](https://qs.example.com/queues/queue-1?framework=list) · [处理手册](https://example.com/runbooks/queue-backlog)`,
    );
  });

  it('without notify.externalURL / dashboardURL those links are left out; resolved alerts carry none', () => {
    const m = render([makeAlert(1), makeAlert(2, { status: 'resolved' })]);
    expect(m.text).toContain('[静默](');
    expect(m.text).not.toContain('[看板]');
    expect(m.text).not.toContain('[队列详情]');
    expect(m.text.split('[静默](').length - 1).toBe(1);
  });

  it('the silence filter is Alertmanager\'s matcher syntax, values escaped; too long a link keeps the identifying labels', () => {
    expect(alertmanagerFilter({ b: 'x"y\\z\nw', a: '1' })).toBe('{a="1",b="x\\"y\\\\z\\nw"}');
    const long = { alertname: 'A', queue: 'q', instance: 'i', note: 'x'.repeat(2000) };
    const url = silenceURL(AM, long);
    expect(url).toBe(`${AM}/#/silences/new?filter=${encodeURIComponent('{alertname="A",instance="i",queue="q"}')}`);
    expect(silenceURL('javascript:alert(1)', { alertname: 'A' })).toBe('');
    expect(silenceURL('', { alertname: 'A' })).toBe('');
    // ) and ( in values are encoded, so the markdown link cannot end early
    expect(silenceURL(AM, { alertname: 'A)(b' })).not.toMatch(/[()]/);
  });

  it('the queue view URL encodes the queue and the framework, and has no framework without the label', () => {
    expect(queueViewURL('http://qs:9640', 'a/b (c)', 'celery')).toBe('http://qs:9640/queues/a%2Fb%20%28c%29?framework=celery');
    expect(queueViewURL('http://qs:9640/', 'q', undefined)).toBe('http://qs:9640/queues/q');
    expect(queueViewURL('http://qs:9640', undefined, 'list')).toBe('');
    expect(queueViewURL('', 'q', 'list')).toBe('');
  });

  it('links from the payload must be http(s); javascript: and dingtalk: URLs are dropped', () => {
    const a = makeAlert(1);
    a.generatorURL = 'javascript:alert(1)';
    a.annotations.runbook_url = 'dingtalk://dingtalkclient/page/link?url=evil';
    const m = render([a]);
    expect(m.text).not.toContain('javascript');
    expect(m.text).not.toContain('dingtalk://');
    expect(m.text).not.toContain('[查看图表]');
    expect(linkTarget('http://user:pw@host:1/p?q=(1)')).toBe('http://host:1/p?q=%281%29');
    expect(linkTarget('http://[::1]:9093')).toBe('http://[::1]:9093');
  });

  it('notify.language en: the English template and texts', () => {
    const en = { summary: 'Queue q has 1.2k tasks waiting', description: 'Waiting tasks above the threshold for 5 minutes.' };
    const m = render([makeAlert(1, en), makeAlert(2, { ...en, status: 'resolved' })], { language: 'en' });
    expect(m.text).toMatch(/^### 🔴 FIRING: /);
    expect(m.text).toContain('**Firing (1)**');
    expect(m.text).toContain('**Resolved (1)**');
    expect(m.text).toContain('- Queue: queue-1 (list)');
    expect(m.text).toContain('[Silence](');
    expect(m.text).not.toMatch(/[告恢队]/);
    expect(m.title).toBe('QueueBacklogHigh');
    expect(render([makeAlert(1), makeAlert(2, { alertname: 'Other' })], { language: 'en' }).title).toBe('QueueBacklogHigh and 1 more');
  });
});

describe('alert-supplied text is inert', () => {
  it('a phishing link and a fake "✅ 恢复" heading in labels and annotations render as plain text', () => {
    const a = makeAlert(1, {
      queue: 'q\n\n### ✅ 恢复：全部正常',
      summary: '[点此处理](http://evil.example/login)',
      description: '<font color="info">ok</font> <@zhangsan> **bold** `code` | a | b |\r\n> quote',
    });
    const m = render([a]);
    expect(m.text.match(/^###/gm)?.length).toBe(1);
    expect(m.text).not.toContain('[点此处理](');
    expect(m.text).toContain('［点此处理］(http://evil.example/login)');
    expect(m.text).not.toMatch(/<font|<@zhangsan>|\*\*bold\*\*|`code`/);
    expect(m.text).not.toMatch(/^> quote/m);
    expect(inertMarkdown('a\\*b')).toBe('a＼＊b');
  });

  const hostile = fc.string({ unit: fc.constantFrom('[', ']', '(', ')', '<', '>', '*', '_', '`', '|', '\\', '#', '\n', '\r', '\u2028', '✅', '恢复', ' ', 'a', 'http://x', '@', '!', '~') , maxLength: 60 });
  const alertArb = fc.record({ queue: hostile, summary: hostile, description: hostile, extra: hostile, status: fc.constantFrom('firing' as const, 'resolved' as const) });

  it('whatever the labels and annotations, the message has the template\'s structure only and fits the byte limit (property)', () => {
    fc.assert(
      fc.property(fc.array(alertArb, { minLength: 1, maxLength: 8 }), fc.constantFrom(WECOM_MAX_MARKDOWN_BYTES, DINGTALK_MAX_TEXT_BYTES, 600), (specs, maxBytes) => {
        const alerts = specs.map((s, i) => {
          const a = makeAlert(i, { queue: s.queue, summary: s.summary, description: s.description, status: s.status });
          a.labels.extra = s.extra;
          return a;
        });
        const m = render(alerts, { maxBytes, links: { externalURL: 'http://qs:9640', dashboardURL: 'http://grafana:3000/d/x' } });
        expect(utf8Bytes(m.text)).toBeLessThanOrEqual(maxBytes);
        // only the template's heading, no HTML, no mention syntax, no table pipes
        expect(m.text.match(/^#/gm)?.length ?? 0).toBeLessThanOrEqual(1);
        expect(m.text.replace(/^> /gm, '')).not.toMatch(/[<>|`\\]/);
        // every link is one of ours: its title is a fixed word
        for (const link of m.text.matchAll(/\[([^\]]*)\]\(/g)) expect(['查看图表', '静默', '看板', '队列详情', '处理手册', 'Alertmanager']).toContain(link[1]);
        // every line is a line of the template: a heading, bold name, a "- " item, a quote footer, the omitted note, or empty
        for (const line of m.text.split('\n')) expect(line, line).toMatch(/^(|### .*|\*\*.*|- .*|> .*|….*)$/);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('WeCom markdown_v2', () => {
  const base = { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', template: '', mention: { userIds: ['zhangsan'], mobiles: [], all: false } };
  const msg = { title: 'T', text: 'body', total: 1, shown: 1, truncated: false, hasFiring: true };

  it('sends msgtype markdown_v2, and the user mentions in the companion text message (markdown_v2 has no <@userid>)', () => {
    const t = wecomTarget('b', { ...base, msgtype: 'markdown_v2' });
    expect(t.mentionSuffix).toBe('');
    const [md, mention] = t.requests(msg);
    expect(md!.body).toEqual({ msgtype: 'markdown_v2', markdown_v2: { content: 'body' } });
    expect(mention!.body).toMatchObject({ msgtype: 'text', text: { mentioned_list: ['zhangsan'] } });
  });

  it('markdown (the default) keeps <@userid> in the content', () => {
    const t = wecomTarget('b', base);
    expect(t.mentionSuffix).toBe('\n<@zhangsan>');
    expect(t.requests(msg)).toHaveLength(1);
    expect(t.requests(msg)[0]!.body).toEqual({ msgtype: 'markdown', markdown: { content: 'body' } });
  });

  it('targets carry the notify language and links into rendering', () => {
    const d = dingtalkTarget('ops', { url: 'https://oapi.dingtalk.com/robot/send?access_token=t', template: '', mention: { mobiles: [], userIds: [], all: false } }, { language: 'en', externalURL: 'http://qs:9640', dashboardURL: '' });
    expect(d.render).toEqual({ language: 'en', links: { externalURL: 'http://qs:9640' } });
    expect((d.requests(msg)[0]!.body as { markdown: { title: string } }).markdown.title).toBe('[FIRING] T');
  });
});
