import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTime, mergePayloads, renderMessage } from '../../src/relay/render.js';
import { DINGTALK_MAX_TEXT_BYTES, WECOM_MAX_MARKDOWN_BYTES } from '../../src/relay/robots.js';
import { compileTemplate } from '../../src/relay/template.js';
import { cutUtf8, ellipsizeUtf8, redact, urlSecrets } from '../../src/relay/text.js';
import { makeAlert, makePayload } from './fixtures.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const alerts = (n: number, o: Parameters<typeof makeAlert>[1] = {}) => Array.from({ length: n }, (_, i) => makeAlert(i, o));
const render = (n: number, maxBytes: number, over: Parameters<typeof makePayload>[1] = {}, o: Parameters<typeof makeAlert>[1] = {}) =>
  renderMessage(mergePayloads([makePayload(alerts(n, o), over)]), { timeZone: 'Asia/Shanghai', maxBytes });

describe('UTF-8 cutting', () => {
  it('never splits a character and never exceeds the budget', () => {
    const s = '积压a😀b告警'; // 3+1+4+1+3+3 bytes
    for (let n = 0; n <= bytes(s) + 1; n++) {
      const cut = cutUtf8(s, n);
      expect(bytes(cut)).toBeLessThanOrEqual(n);
      expect(s.startsWith(cut)).toBe(true);
      expect(cut).not.toContain('\uFFFD');
    }
    expect(cutUtf8(s, 5)).toBe('积');
    expect(cutUtf8(s, 7)).toBe('积压a');
    expect(cutUtf8(s, 10)).toBe('积压a'); // the emoji needs 4 bytes
    expect(cutUtf8(s, 11)).toBe('积压a😀');
    expect(ellipsizeUtf8('告警告警', 9)).toBe('告警…');
  });

  it('redacts URLs, tokens and their encoded forms', () => {
    const url = 'https://oapi.dingtalk.com/robot/send?access_token=tok+en/123';
    const secrets = urlSecrets(url);
    expect(redact(`POST ${url} failed; token tok en/123 / tok%2Ben%2F123`, [...secrets, 'tok+en/123'])).toBe('POST <secret> failed; token <secret> / <secret>');
  });
});

describe('message rendering', () => {
  it('1 alert: the whole Chinese message with status, name, severity, queue, instance, summary, description, time, links', () => {
    const m = render(1, WECOM_MAX_MARKDOWN_BYTES);
    expect(m.truncated).toBe(false);
    expect(m.shown).toBe(1);
    expect(m.title).toBe('QueueBacklogHigh · queue-0');
    expect(m.text).toContain('告警');
    expect(m.text).toContain('**QueueBacklogHigh** [critical]');
    expect(m.text).toContain('队列：queue-0（list）');
    expect(m.text).toContain('实例：queuescope:9640');
    expect(m.text).toContain('摘要：队列 queue-0 积压 1000 条');
    expect(m.text).toContain('详情：队列 queue-0 的等待任务数超过阈值');
    expect(m.text).toContain('开始：2024-03-01 10:03:04'); // 02:03:04Z in Asia/Shanghai
    expect(m.text).toContain('(http://prometheus:9090/graph?g0.expr=queue_tasks&i=0)');
    expect(m.text).toContain('[Alertmanager](http://alertmanager:9093)');
    expect(m.text).not.toContain('另有');
    expect(bytes(m.text)).toBeLessThan(WECOM_MAX_MARKDOWN_BYTES);
  });

  it('uses the configured time zone', () => {
    expect(formatTime('2024-03-01T02:03:04Z', 'Asia/Shanghai')).toBe('2024-03-01 10:03:04');
    expect(formatTime('2024-03-01T02:03:04Z', 'UTC')).toBe('2024-03-01 02:03:04');
    expect(formatTime('2024-03-01T02:03:04Z', 'America/New_York')).toBe('2024-02-29 21:03:04');
    expect(formatTime('0001-01-01T00:00:00Z', 'UTC')).toBe('');
    const m = renderMessage(mergePayloads([makePayload([makeAlert(1)])]), { timeZone: 'UTC', maxBytes: 4096 });
    expect(m.text).toContain('开始：2024-03-01 02:03:04');
    expect(m.text).toContain('时区 UTC');
  });

  it('lists firing and resolved alerts separately', () => {
    const p = makePayload([makeAlert(1), makeAlert(2, { status: 'resolved' }), makeAlert(3)]);
    const m = renderMessage(mergePayloads([p]), { timeZone: 'Asia/Shanghai', maxBytes: 20_000 });
    const firingAt = m.text.indexOf('**告警中（2）**');
    const resolvedAt = m.text.indexOf('**已恢复（1）**');
    expect(firingAt).toBeGreaterThan(0);
    expect(resolvedAt).toBeGreaterThan(firingAt);
    expect(m.text.indexOf('queue-1')).toBeLessThan(resolvedAt);
    expect(m.text.indexOf('queue-3')).toBeLessThan(resolvedAt);
    expect(m.text.indexOf('queue-2')).toBeGreaterThan(resolvedAt);
    expect(m.text).toContain('恢复：2024-03-01 11:00:00');
  });

  it('a resolved-only message says 恢复', () => {
    const m = render(2, 4096, {}, { status: 'resolved' });
    expect(m.hasFiring).toBe(false);
    expect(m.text.startsWith('### ✅ 恢复')).toBe(true);
  });

  for (const [name, limit] of [
    ['WeCom (4096 bytes)', WECOM_MAX_MARKDOWN_BYTES],
    ['DingTalk (20000 bytes)', DINGTALK_MAX_TEXT_BYTES],
  ] as const) {
    it(`${name}: 50 and 500 alerts keep whole alerts within the byte limit and count the rest`, () => {
      for (const n of [50, 500]) {
        const m = render(n, limit, { truncatedAlerts: 7 });
        const unlimited = render(n, 10_000_000, { truncatedAlerts: 7 });
        expect(bytes(m.text)).toBeLessThanOrEqual(limit);
        if (bytes(unlimited.text) <= limit) {
          // 50 alerts fit DingTalk's 20000 bytes whole
          expect(m.truncated).toBe(false);
          expect(m.text).toBe(unlimited.text);
          expect(m.text).toContain('…另有 7 条告警未显示');
          continue;
        }
        expect(m.truncated).toBe(true);
        expect(m.shown).toBeGreaterThan(0);
        expect(m.shown).toBeLessThan(n);
        // "and N more" counts the cut alerts plus Alertmanager's truncatedAlerts
        expect(m.text).toContain(`…另有 ${n - m.shown + 7} 条告警未显示`);
        // the shown alerts are whole: the last one shown is complete, the next is absent
        expect(m.text).toContain(`摘要：队列 queue-${m.shown - 1} 积压`);
        expect(m.text).not.toContain(`queue-${m.shown}（`);
        // and one more alert would not have fit: the cut is tight
        const oneMore = renderMessage(mergePayloads([makePayload(alerts(m.shown + 1))]), { timeZone: 'Asia/Shanghai', maxBytes: 10_000_000 });
        expect(bytes(oneMore.text)).toBeGreaterThan(limit - 400);
      }
    });
  }

  it('multi-byte Chinese text right at the cut: every byte budget stays valid UTF-8 within the limit', () => {
    // descriptions of 3-byte characters so the cut lands inside characters for most budgets
    const desc = '任务积压严重，请检查消费者。'.repeat(40);
    for (let limit = 3000; limit < 3012; limit++) {
      const m = render(20, limit, {}, { description: desc });
      expect(bytes(m.text)).toBeLessThanOrEqual(limit);
      expect(m.text).not.toContain('\uFFFD');
    }
  });

  it('a header larger than the limit is cut on a character boundary and ends with …', () => {
    const tpl = compileTemplate(`${'告'.repeat(2000)}{{#firing}}{{alertname}}{{/firing}}`);
    for (const limit of [4096, 4095, 4094]) {
      const m = renderMessage(mergePayloads([makePayload([makeAlert(1)])]), { timeZone: 'UTC', maxBytes: limit, template: tpl });
      expect(bytes(m.text)).toBeLessThanOrEqual(limit);
      expect(m.text.endsWith('…')).toBe(true);
      expect(m.text).not.toContain('\uFFFD');
      expect(m.truncated).toBe(true);
    }
  });

  it('a single huge alert is capped field by field so it still fits WeCom', () => {
    const m = render(1, WECOM_MAX_MARKDOWN_BYTES, {}, { description: '巨'.repeat(30_000), summary: 's'.repeat(30_000) });
    expect(m.shown).toBe(1);
    expect(bytes(m.text)).toBeLessThanOrEqual(WECOM_MAX_MARKDOWN_BYTES);
  });

  it('the mention suffix is inside the limit and only on firing messages', () => {
    const firing = renderMessage(mergePayloads([makePayload(alerts(200))]), { timeZone: 'UTC', maxBytes: 4096, mentionSuffix: '\n\n@13800000000' });
    expect(firing.text.endsWith('@13800000000')).toBe(true);
    expect(bytes(firing.text)).toBeLessThanOrEqual(4096);
    const resolved = renderMessage(mergePayloads([makePayload(alerts(1, { status: 'resolved' }))]), { timeZone: 'UTC', maxBytes: 4096, mentionSuffix: '\n\n@13800000000' });
    expect(resolved.text).not.toContain('@13800000000');
  });
});

describe('digests', () => {
  it('merges notifications, keeps each alert once in its latest state, and says how many were merged', () => {
    const d = mergePayloads([
      makePayload([makeAlert(1), makeAlert(2)], { truncatedAlerts: 1 }),
      makePayload([makeAlert(3, { alertname: 'QueueLatencyHigh' })], { truncatedAlerts: 2 }),
      makePayload([makeAlert(1, { status: 'resolved' })]),
    ]);
    expect(d.notifications).toBe(3);
    expect(d.truncatedAlerts).toBe(3);
    expect(d.alerts.map((a) => `${a.labels.queue}:${a.status}`)).toEqual(['queue-1:resolved', 'queue-2:firing', 'queue-3:firing']);
    const m = renderMessage(d, { timeZone: 'UTC', maxBytes: 20_000 });
    expect(m.title).toBe('QueueBacklogHigh 等 2 项告警');
    expect(m.text).toContain('合并了 3 条通知');
    expect(m.text).toContain('…另有 3 条告警未显示');
  });
});

describe('custom templates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qs-tpl-'));

  it('renders a template file with the documented fields', () => {
    const path = join(dir, 'ok.tmpl');
    writeFileSync(path, '{{statusText}} {{title}}\n{{#firing}}\n- {{alertname}} {{queue}} {{labels.framework}} {{startsAt}}\n{{/firing}}\n{{#omitted}}还有 {{omitted}} 条{{/omitted}}');
    const m = renderMessage(mergePayloads([makePayload([makeAlert(1)])]), { timeZone: 'Asia/Shanghai', maxBytes: 4096, template: compileTemplate(readFileSync(path, 'utf8')) });
    expect(m.text).toBe('告警 QueueBacklogHigh · queue-1\n- QueueBacklogHigh queue-1 list 2024-03-01 10:03:04\n');
    expect(m.fallbackReason).toBeUndefined();
  });

  it('falls back to the default template and says why when a custom one fails', () => {
    const m = renderMessage(mergePayloads([makePayload([makeAlert(1)])]), { timeZone: 'UTC', maxBytes: 4096, template: compileTemplate('{{#firing}}{{nosuch}}{{/firing}}') });
    expect(m.fallbackReason).toMatch(/unknown name "nosuch"/);
    expect(m.text).toContain('**QueueBacklogHigh** [critical]');
  });
});
