/**
 * The two robot channels: request URLs (DingTalk signing), message bodies,
 * mentions, size limits, and how a robot's answer is classified.
 *
 * Facts come from the robots' documentation (see shared/spec/alerting.md):
 * - DingTalk custom robot ("自定义机器人", https://open.dingtalk.com/document/robots/custom-robot-access
 *   and …/customize-robot-security-settings): markdown `text` ≤ 20000 bytes;
 *   signing = base64(HMAC-SHA256(key = secret, message = `${timestampMs}\n${secret}`)),
 *   URL-encoded, as `timestamp` and `sign` query parameters, timestamp within
 *   1 hour; `@mobile` / `@userId` must appear in the text for `at` to notify;
 *   20 messages/minute/robot (errcode 130101 when exceeded); 310000 = keyword,
 *   signature or IP-whitelist refusal.
 * - WeCom group robot ("群机器人", https://developer.work.weixin.qq.com/document/path/91770):
 *   markdown `content` ≤ 4096 bytes (errcode 40058), text `content` ≤ 2048
 *   bytes; `<@userid>` mentions inside markdown; `@all` and mobiles only via a
 *   `text` message's `mentioned_list` / `mentioned_mobile_list`; 20
 *   messages/minute/robot (errcode 45009); 93000 = invalid key.
 * Both answer HTTP 200 with `{errcode, errmsg}`; success is errcode 0.
 */
import { createHmac } from 'node:crypto';
import type { DingtalkTargetConfig, NotifyConfig, WecomTargetConfig } from '../config/schema.js';
import { ellipsizeUtf8 } from './text.js';
import type { RenderedMessage, RenderOptions } from './render.js';

/** The notify-level settings a target's messages use (language, links). */
export type MessageSettings = Partial<Pick<NotifyConfig, 'language' | 'externalURL' | 'dashboardURL'>>;

/** {@link RenderOptions} a target adds to every rendering: language and links. */
function renderExtras(m: MessageSettings): Pick<RenderOptions, 'language' | 'links'> {
  return {
    ...(m.language ? { language: m.language } : {}),
    links: { ...(m.externalURL ? { externalURL: m.externalURL } : {}), ...(m.dashboardURL ? { dashboardURL: m.dashboardURL } : {}) },
  };
}

/** The relay's channels, as in the route `/alerts/:channel/:target`. */
export type ChannelName = 'dingtalk' | 'wecom';

/** DingTalk markdown `text` limit in UTF-8 bytes (errcode 460101, older 101002 beyond it). */
export const DINGTALK_MAX_TEXT_BYTES = 20_000;
/** WeCom markdown `content` limit in UTF-8 bytes (errcode 40058 beyond it). */
export const WECOM_MAX_MARKDOWN_BYTES = 4096;
/** WeCom text `content` limit in UTF-8 bytes. */
export const WECOM_MAX_TEXT_BYTES = 2048;

/** Errcodes that mean "too fast / busy, try again later": DingTalk 130101, WeCom 45009, both -1 (system busy). */
export const RETRYABLE_ERRCODES: ReadonlySet<number> = new Set([130101, 45009, -1]);

/**
 * The DingTalk signature: base64(HMAC-SHA256(key = secret, message = `${timestampMs}\n${secret}`)),
 * not yet URL-encoded.
 * @param timestampMs unix milliseconds
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * The robot URL with `timestamp` (unix ms) and `sign` (URL-encoded) query
 * parameters added; the URL unchanged when `secret` is empty.
 */
export function signDingtalkUrl(url: string, secret: string | undefined, timestampMs: number): string {
  if (!secret) return url;
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestampMs));
  u.searchParams.set('sign', dingtalkSign(secret, timestampMs));
  return u.toString();
}

/** One HTTP call to a robot: where (a function, so a DingTalk signature is fresh per attempt) and the JSON body. */
export interface RobotRequest {
  /** builds the URL at send time; `nowMs` = unix ms */
  url(nowMs: number): string;
  body: Record<string, unknown>;
  /** `markdown` for the alert message, `mention` for WeCom's companion text message */
  kind: 'markdown' | 'mention';
}

/** Per-channel rendering facts used by the outbox. */
export interface ChannelTarget {
  channel: ChannelName;
  target: string;
  /** the secrets to keep out of logs: URL, token/key, signing secret */
  url: string;
  secret?: string;
  /** the text budget for {@link renderMessage}, in UTF-8 bytes */
  maxBytes: number;
  /** text appended to firing messages so the mentions notify */
  mentionSuffix: string;
  /** render options from the notify settings (language, links); spread into every renderMessage call */
  render: Pick<RenderOptions, 'language' | 'links'>;
  /** robot requests for a rendered message (the markdown message, then WeCom's mention message if needed) */
  requests(msg: RenderedMessage): RobotRequest[];
}

/** DingTalk target: signed URL, markdown with `at`, `@mobile`/`@userId` appended to the text of firing messages. */
export function dingtalkTarget(target: string, cfg: DingtalkTargetConfig, settings: MessageSettings = {}): ChannelTarget {
  const url = cfg.url ?? '';
  const secret = cfg.secret || undefined;
  const tags = [...cfg.mention.mobiles, ...cfg.mention.userIds].map((m) => `@${m}`);
  if (cfg.mention.all) tags.push('@所有人');
  const mentionSuffix = tags.length ? `\n\n${tags.join(' ')}` : '';
  return {
    channel: 'dingtalk',
    target,
    url,
    ...(secret ? { secret } : {}),
    maxBytes: DINGTALK_MAX_TEXT_BYTES,
    mentionSuffix,
    render: renderExtras(settings),
    requests(msg) {
      const at = msg.hasFiring
        ? { atMobiles: cfg.mention.mobiles, atUserIds: cfg.mention.userIds, isAtAll: cfg.mention.all }
        : { atMobiles: [], atUserIds: [], isAtAll: false };
      return [
        {
          kind: 'markdown',
          url: (now) => signDingtalkUrl(url, secret, now),
          body: {
            msgtype: 'markdown',
            markdown: { title: `[${msg.hasFiring ? (settings.language === 'en' ? 'FIRING' : '告警') : settings.language === 'en' ? 'RESOLVED' : '恢复'}] ${msg.title}`, text: msg.text },
            at,
          },
        },
      ];
    },
  };
}

/**
 * WeCom target: markdown with `<@userid>` appended to firing messages; when
 * `mention.all` or `mention.mobiles` is set, a second `text` message carries
 * `mentioned_list` (`@all`) / `mentioned_mobile_list`, because markdown
 * cannot mention those. Both count against the robot's rate limit.
 */
export function wecomTarget(target: string, cfg: WecomTargetConfig, settings: MessageSettings = {}): ChannelTarget {
  const url = cfg.url ?? '';
  // markdown_v2 (lists, tables) has no <@userid>: its mentions go in the companion text message
  const v2 = cfg.msgtype === 'markdown_v2';
  const mentionSuffix = !v2 && cfg.mention.userIds.length ? `\n${cfg.mention.userIds.map((u) => `<@${u}>`).join(' ')}` : '';
  const textMentions = [...(v2 ? cfg.mention.userIds : []), ...(cfg.mention.all ? ['@all'] : [])];
  return {
    channel: 'wecom',
    target,
    url,
    maxBytes: WECOM_MAX_MARKDOWN_BYTES,
    mentionSuffix,
    render: renderExtras(settings),
    requests(msg) {
      const out: RobotRequest[] = [
        { kind: 'markdown', url: () => url, body: v2 ? { msgtype: 'markdown_v2', markdown_v2: { content: msg.text } } : { msgtype: 'markdown', markdown: { content: msg.text } } },
      ];
      if (msg.hasFiring && (textMentions.length > 0 || cfg.mention.mobiles.length > 0)) {
        out.push({
          kind: 'mention',
          url: () => url,
          body: {
            msgtype: 'text',
            text: {
              content: ellipsizeUtf8(settings.language === 'en' ? `[FIRING] ${msg.title}: see the message above` : `【告警】${msg.title}，详情见上一条消息`, WECOM_MAX_TEXT_BYTES),
              mentioned_list: textMentions,
              mentioned_mobile_list: cfg.mention.mobiles,
            },
          },
        });
      }
      return out;
    },
  };
}

/** How one robot call ended. */
export type RobotOutcome =
  | { kind: 'ok' }
  /** rate-limit errcode, -1 busy, HTTP 429/5xx, timeout, network error, unreadable body */
  | { kind: 'retry'; reason: string }
  /** any other errcode or HTTP 4xx: retrying will not help */
  | { kind: 'permanent'; reason: string; errcode?: number };

/**
 * POSTs `body` as JSON and classifies the answer. Success is HTTP 200 and
 * `errcode == 0` in the body. Never throws; reasons never contain the URL.
 * @param timeoutMs abort after this many milliseconds (counts as retryable)
 */
export async function postToRobot(url: string, body: Record<string, unknown>, timeoutMs: number): Promise<RobotOutcome> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'retry', reason: `timed out after ${timeoutMs} ms` };
    return { kind: 'retry', reason: `request failed${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    return { kind: 'retry', reason: `HTTP ${res.status} with an unreadable body` };
  }
  if (res.status === 429 || res.status >= 500) return { kind: 'retry', reason: `HTTP ${res.status}` };
  if (res.status !== 200) return { kind: 'permanent', reason: `HTTP ${res.status}` };
  let parsed: { errcode?: unknown; errmsg?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { kind: 'retry', reason: 'HTTP 200 without a JSON body' };
  }
  const errcode = typeof parsed?.errcode === 'number' ? parsed.errcode : undefined;
  if (errcode === 0) return { kind: 'ok' };
  const errmsg = typeof parsed?.errmsg === 'string' ? parsed.errmsg.slice(0, 200) : '';
  if (errcode === undefined) return { kind: 'retry', reason: 'HTTP 200 without an errcode' };
  const reason = `errcode ${errcode}${errmsg ? ` (${errmsg})` : ''}`;
  if (RETRYABLE_ERRCODES.has(errcode)) return { kind: 'retry', reason };
  return { kind: 'permanent', reason, errcode };
}
