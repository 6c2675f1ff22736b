/**
 * One HTTP GET the way Prometheus scrapes: `Accept-Encoding: gzip`, the
 * scrape-timeout header, and the time until the last byte arrived. node:http
 * rather than fetch so the bytes on the wire are seen as sent (fetch inflates
 * transparently and hides the compressed size).
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';

/** What one scrape returned. */
export interface Scrape {
  readonly status: number;
  /** Milliseconds from sending the request to the last byte of the body. */
  readonly ms: number;
  /** Bytes received (compressed when the server compressed). */
  readonly wireBytes: number;
  /** The body, inflated when it came gzip-encoded. */
  readonly body: string;
  readonly contentEncoding: string | undefined;
}

/** Headers Prometheus 2.x/3.x sends when scraping (text format preferred here). */
export const PROMETHEUS_HEADERS: Readonly<Record<string, string>> = {
  accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1',
  'accept-encoding': 'gzip',
  'x-prometheus-scrape-timeout-seconds': '10',
};

/**
 * GETs `url`.
 * @param timeoutMs the request is aborted (rejecting) after this long
 * @throws on a network error or timeout (not on HTTP error statuses)
 */
export function httpGet(url: string, headers: Readonly<Record<string, string>> = PROMETHEUS_HEADERS, timeoutMs = 60_000): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { headers: { ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
      });
      res.on('end', () => {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        const raw = Buffer.concat(chunks, n);
        const enc = res.headers['content-encoding'];
        let body: string;
        try {
          body = (enc === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        } catch (err) {
          reject(new Error(`GET ${url}: cannot inflate the ${enc} body: ${(err as Error).message}`));
          return;
        }
        resolve({ status: res.statusCode ?? 0, ms, wireBytes: n, body, contentEncoding: enc });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** The value of the first sample of `name` (any labels) in a text exposition, or undefined. */
export function metricValue(body: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

/** Series (sample lines) in a text exposition whose line starts with `prefix`. */
export function countSeries(body: string, prefix = ''): number {
  let n = 0;
  let i = 0;
  while (i < body.length) {
    let nl = body.indexOf('\n', i);
    if (nl < 0) nl = body.length;
    if (body.charCodeAt(i) !== 35 /* # */ && nl > i && body.startsWith(prefix, i)) n++;
    i = nl + 1;
  }
  return n;
}

/** Series whose line contains `needle` (e.g. `framework="list"`) and starts with `prefix`. */
export function countSeriesWith(body: string, needle: string, prefix = ''): number {
  let n = 0;
  for (const line of body.split('\n')) if (line !== '' && line[0] !== '#' && line.startsWith(prefix) && line.includes(needle)) n++;
  return n;
}

/** Distinct family names (from sample lines, label-free part) whose lines contain `needle`. */
export function familiesWith(body: string, needle: string): string[] {
  const out = new Set<string>();
  for (const line of body.split('\n')) {
    if (line === '' || line[0] === '#' || !line.includes(needle)) continue;
    const end = line.search(/[{ ]/);
    out.add(end < 0 ? line : line.slice(0, end));
  }
  return [...out].sort();
}
