/**
 * Turning a collection into a scrape response, once for every caller:
 * `/metrics` (collection + the sidecar's own families), `/probe` (collection
 * only) and the benchmark. Format negotiation, content type, OpenMetrics'
 * closing `# EOF`, and the scrape budget from Prometheus' timeout header all
 * live here, so the HTTP routes only move bytes.
 */
import type { Collection } from './collection.js';
import { negotiate, OPENMETRICS_CONTENT_TYPE, render, TEXT_CONTENT_TYPE } from './exposition.js';
import type { Family } from './family.js';
import { acceptsGzip, deflateParts, gzipJoin, type DeflatedPart } from '../http/gzip.js';

/** Smallest scrape budget, ms, whatever the Prometheus header says (a 0 s budget helps nobody). */
const MIN_BUDGET_MS = 100;
/** Margin kept from Prometheus' scrape timeout so the answer arrives in time (Prometheus' own exporters use 250 ms too). */
const TIMEOUT_MARGIN_MS = 250;

/**
 * Scrape budget for one request: `scrape.timeout`, or Prometheus'
 * `X-Prometheus-Scrape-Timeout-Seconds` minus 250 ms when smaller.
 * @param configTimeoutMs `scrape.timeout`, ms
 * @param header the request's `X-Prometheus-Scrape-Timeout-Seconds` (seconds), if any
 * @returns milliseconds, at least 100
 */
export function scrapeBudgetMs(configTimeoutMs: number, header: string | string[] | undefined): number {
  let budget = configTimeoutMs;
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  if (header !== undefined && Number.isFinite(seconds) && seconds > 0) budget = Math.min(budget, seconds * 1000 - TIMEOUT_MARGIN_MS);
  return Math.max(budget, MIN_BUDGET_MS);
}

/** A scrape answer: its content type and the page (gzip-encoded when `contentEncoding` says so). */
export interface ScrapeResponse {
  readonly contentType: string;
  readonly body: string | Buffer;
  /** `gzip` when the body is compressed (send it as the Content-Encoding header). */
  readonly contentEncoding?: 'gzip';
}

/** Per collection and format: its exposition deflated once, shared by every scraper of it. */
const deflated = new WeakMap<Collection, { text?: DeflatedPart; openmetrics?: DeflatedPart }>();

/**
 * The page for `collection` in the format `accept` asks for (text 0.0.4
 * unless OpenMetrics is asked for), with `extra` families after the
 * collection's and, for OpenMetrics, the closing `# EOF`.
 * @param accept the request's `Accept` header
 * @param extra families rendered after the collection (the sidecar's own metrics on `/metrics`)
 * @param acceptEncoding the request's `Accept-Encoding`: when it admits gzip the body is one gzip
 *   member whose collection part was compressed once per collection (src/http/gzip.ts)
 */
export function scrapeResponse(collection: Collection, accept: string | undefined, extra: Iterable<Family> = [], acceptEncoding?: string | string[]): ScrapeResponse {
  const format = negotiate(accept);
  const contentType = format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
  const tail = render(extra, format);
  if (acceptsGzip(acceptEncoding)) {
    let parts = deflated.get(collection);
    if (!parts) deflated.set(collection, (parts = {}));
    const head = (parts[format] ??= deflateParts(collection.expositionParts(format)));
    return { contentType, body: gzipJoin(head, tail), contentEncoding: 'gzip' };
  }
  return { contentType, body: collection.exposition(format) + tail };
}
