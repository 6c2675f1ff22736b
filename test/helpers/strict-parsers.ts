/**
 * The two strict readers a page must satisfy: `promtool check metrics`
 * (Prometheus' own linter and text parser) and the OpenMetrics parser of
 * the official Python client (`prometheus_client.openmetrics.parser`, from
 * Debian's python3-prometheus-client). Both take a batch of pages in one
 * process, so a fuzz run costs one interpreter start, not one per page.
 */
import { spawnSync } from 'node:child_process';
import { findBinary } from './binaries.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for page in json.load(sys.stdin):
    try:
        for _ in text_string_to_metric_families(page):
            pass
        out.append(None)
    except Exception as e:
        out.append(repr(e)[:300])
json.dump(out, sys.stdout)
`;

/**
 * Parses every page with the strict OpenMetrics parser.
 * @returns one entry per page: `null` when it parsed, else the parser's complaint.
 * @throws Error when python3 or the module is missing (names the Debian package).
 */
export function openMetricsErrors(pages: readonly string[]): (string | null)[] {
  const r = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(pages), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${PYTHON} with prometheus_client failed (apt-get install python3-prometheus-client): ${r.stderr}`);
  return JSON.parse(r.stdout) as (string | null)[];
}

/**
 * Runs `promtool check metrics` on a text-format page.
 * @returns promtool's complaint, or null when the page passes (lint warnings about HELP/units included as complaints).
 */
export function promtoolErrors(page: string): string | null {
  const r = spawnSync(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: page, encoding: 'utf8' });
  return r.status === 0 ? null : `${r.stdout}${r.stderr}`.trim();
}
