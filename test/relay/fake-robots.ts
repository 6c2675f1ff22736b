/**
 * Local stand-ins for the DingTalk custom robot and the WeCom group robot,
 * implementing the contract in shared/spec/alerting.md: token / key check,
 * DingTalk signature and 1-hour timestamp window, a sliding-window rate limit
 * (20 per 60 s by default, scalable for tests) with the real errcodes, byte
 * limits with the real errcodes, and HTTP 200 `{errcode, errmsg}` answers.
 * Loopback only.
 *
 * The signature is verified with an independent implementation: the
 * `openssl dgst -sha256 -hmac` binary, not the relay's code.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A message the robot accepted. */
export interface Delivered {
  at: number;
  body: Record<string, unknown>;
  /** DingTalk markdown text / WeCom markdown or text content */
  text: string;
  query: URLSearchParams;
}

/** A request the robot refused, with the errcode it answered. */
export interface Refused {
  at: number;
  errcode: number;
  errmsg: string;
}

/** A scripted answer for the next request, before the robot's own checks. */
export type Fault = { errcode: number; errmsg?: string } | { status: number } | { hang: true };

export interface FakeRobot {
  /** the webhook URL to configure (carries the token / key) */
  readonly url: string;
  readonly delivered: Delivered[];
  readonly refused: Refused[];
  /** every request that reached the robot (arrival times, ms) */
  readonly arrivals: number[];
  /** answers for the next requests, consumed first-in first-out */
  readonly faults: Fault[];
  /** the largest number of requests seen in any window of `windowMs` */
  maxInAnyWindow(): number;
  close(): Promise<void>;
}

export interface FakeRobotOptions {
  rateLimit?: { count: number; windowMs: number };
  /** DingTalk only: the signing secret to require */
  secret?: string;
}

/**
 * How many delivered messages name each alert whose name starts with
 * `prefix` and three digits, as the default template prints it (`**Name007**`).
 */
export function deliveriesByAlert(robot: FakeRobot, prefix: string): Map<string, number> {
  const re = new RegExp(`\\*\\*(${prefix}\\d{3})\\*\\*`, 'g');
  const counts = new Map<string, number>();
  for (const d of robot.delivered) for (const m of d.text.matchAll(re)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

/** base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)) computed by the openssl binary. */
export function opensslDingtalkSign(secret: string, timestamp: string): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-binary'], { input: `${timestamp}\n${secret}` }).toString('base64');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

type Check = (req: IncomingMessage, url: URL, body: Record<string, unknown>, now: number) => { errcode: number; errmsg: string; text?: string };

async function startRobot(path: string, tokenParam: string, token: string, opts: FakeRobotOptions, rateErr: { errcode: number; errmsg: string }, check: Check): Promise<FakeRobot> {
  const rate = opts.rateLimit ?? { count: 20, windowMs: 60_000 };
  const delivered: Delivered[] = [];
  const refused: Refused[] = [];
  const arrivals: number[] = [];
  const faults: Fault[] = [];
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer(async (req, res) => {
    const now = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    arrivals.push(now);
    const answer = (errcode: number, errmsg: string): void => {
      if (errcode !== 0) refused.push({ at: now, errcode, errmsg });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode, errmsg }));
    };
    const fault = faults.shift();
    if (fault) {
      if ('hang' in fault) {
        hanging.add(res);
        return;
      }
      if ('status' in fault) {
        res.writeHead(fault.status, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
        return;
      }
      return answer(fault.errcode, fault.errmsg ?? 'scripted');
    }
    if (url.pathname !== path || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get(tokenParam) !== token) return answer(tokenParam === 'key' ? 93000 : 300001, tokenParam === 'key' ? 'invalid webhook url' : 'token is not exist');
    // the robot's rate limit counts every request in the sliding window, including this one
    const inWindow = arrivals.filter((t) => t > now - rate.windowMs).length;
    if (inWindow > rate.count) return answer(rateErr.errcode, rateErr.errmsg);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return answer(400, 'invalid json');
    }
    const r = check(req, url, body, now);
    if (r.errcode !== 0) return answer(r.errcode, r.errmsg);
    delivered.push({ at: now, body, text: r.text ?? '', query: url.searchParams });
    return answer(0, 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}${path}?${tokenParam}=${token}`,
    delivered,
    refused,
    arrivals,
    faults,
    maxInAnyWindow() {
      let max = 0;
      for (let i = 0; i < arrivals.length; i++) {
        const start = arrivals[i] ?? 0;
        const n = arrivals.filter((t) => t >= start && t < start + rate.windowMs).length;
        max = Math.max(max, n);
      }
      return max;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * A DingTalk custom robot: `POST /robot/send?access_token=…[&timestamp=…&sign=…]`,
 * markdown / text messages, text ≤ 20000 bytes (460101), 130101 over the rate,
 * 310000 for a bad or stale signature, 300001 for an unknown token.
 */
export function startFakeDingtalk(token: string, opts: FakeRobotOptions = {}): Promise<FakeRobot> {
  return startRobot('/robot/send', 'access_token', token, opts, { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' }, (_req, url, body, now) => {
    if (opts.secret) {
      const ts = url.searchParams.get('timestamp') ?? '';
      const sign = url.searchParams.get('sign') ?? '';
      if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > 3_600_000) return { errcode: 310000, errmsg: 'invalid timestamp' };
      if (sign !== opensslDingtalkSign(opts.secret, ts)) return { errcode: 310000, errmsg: 'sign not match' };
    }
    let text: unknown;
    if (body.msgtype === 'markdown') {
      const md = body.markdown as { title?: unknown; text?: unknown } | undefined;
      if (typeof md?.title !== 'string' || typeof md.text !== 'string') return { errcode: 400, errmsg: 'markdown.title and markdown.text are required' };
      text = md.text;
    } else if (body.msgtype === 'text') {
      text = (body.text as { content?: unknown } | undefined)?.content;
    } else {
      return { errcode: 400, errmsg: 'unsupported msgtype' };
    }
    if (typeof text !== 'string' || text === '') return { errcode: 400, errmsg: 'empty content' };
    if (bytes(text) > 20_000) return { errcode: 460101, errmsg: 'message too long, exceed 20000 bytes' };
    return { errcode: 0, errmsg: 'ok', text };
  });
}

/**
 * A WeCom group robot: `POST /cgi-bin/webhook/send?key=…`, markdown content
 * ≤ 4096 bytes and text content ≤ 2048 bytes (40058), 45009 over the rate,
 * 93000 for an unknown key.
 */
export function startFakeWecom(key: string, opts: FakeRobotOptions = {}): Promise<FakeRobot> {
  return startRobot('/cgi-bin/webhook/send', 'key', key, opts, { errcode: 45009, errmsg: 'api freq out of limit' }, (_req, _url, body) => {
    if (body.msgtype === 'markdown') {
      const content = (body.markdown as { content?: unknown } | undefined)?.content;
      if (typeof content !== 'string' || content === '') return { errcode: 40008, errmsg: 'invalid message type' };
      if (bytes(content) > 4096) return { errcode: 40058, errmsg: 'markdown.content exceed max length 4096' };
      return { errcode: 0, errmsg: 'ok', text: content };
    }
    if (body.msgtype === 'text') {
      const content = (body.text as { content?: unknown } | undefined)?.content;
      if (typeof content !== 'string' || content === '') return { errcode: 40008, errmsg: 'invalid message type' };
      if (bytes(content) > 2048) return { errcode: 40058, errmsg: 'text.content exceed max length 2048' };
      return { errcode: 0, errmsg: 'ok', text: content };
    }
    return { errcode: 40008, errmsg: 'invalid message type' };
  });
}
