/** Reading the provisioned dashboard JSON for the Grafana tests (not a test file itself). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dashboard, Panel, Target, Variable } from '../../src/generate/grafana/builder.js';

const DIR = resolve(import.meta.dirname, '../../grafana/dashboards');

/** Every `grafana/dashboards/*.json`, parsed (as Grafana would load them, not the TypeScript source). */
export function dashboardFiles(): { file: string; json: Dashboard }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Dashboard }));
}

/** Panels including those nested in collapsed rows. */
export function allPanels(board: Dashboard): Panel[] {
  return board.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query target with its panel. */
export function panelTargets(board: Dashboard): (Target & { panel: string })[] {
  return allPanels(board).flatMap((p) => (p.targets ?? []).map((t) => ({ ...t, panel: p.title })));
}

/** `$name` / `${name}` uses in a query, and whether each is the value of a `label=~"…"` matcher. */
export function variableUses(text: string): { name: string; regexMatcher: boolean }[] {
  const out: { name: string; regexMatcher: boolean }[] = [];
  const re = /\$\{?(\w+)\}?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const before = text.slice(0, m.index);
    out.push({ name: m[1] as string, regexMatcher: /[a-z_]+=~"$/.test(before) && text.slice(m.index + m[0].length).startsWith('"') });
  }
  return out;
}

/** The query variables of a board in declaration order (a variable may use those before it). */
export function queryVariables(board: Dashboard): Variable[] {
  return board.templating.list.filter((v) => v.type === 'query');
}
