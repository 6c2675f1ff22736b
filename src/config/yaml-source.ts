/**
 * Where a config value came from: YAML source positions (line of a key
 * path), the override that supplied it (`$QUEUESCOPE_LISTEN`, `--listen`),
 * and the issues collected while loading, in file / line order.
 *
 * Also the YAML-level checks that come before any schema: syntax errors,
 * duplicate keys, a top level that is not a mapping, aliases without anchors.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Pair, type YAMLMap } from 'yaml';
import { ConfigError, formatKeyPath, type ConfigIssue } from './errors.js';

/** One step of a key path: a mapping key or a list index. */
export type Segment = string | number;

/**
 * Most issues one ConfigError lists; past it a last line says how many more.
 * A file with 50,000 unknown keys gets a readable answer, not 50,000 lines.
 */
export const MAX_REPORTED_ISSUES = 100;

/** Everything the loader's steps share: where issues point and how to find lines. */
export class LoadContext {
  readonly issues: ConfigIssue[] = [];
  /** key path -> origin (`$QUEUESCOPE_LISTEN`) of values that came from overrides. */
  origins = new Map<string, string>();
  /** key path of a plain secret field -> the `*File` path it was read from. */
  readonly fromFile = new Map<string, { filePath: Segment[]; fileName: string }>();
  /** key path -> the `${VAR}` names interpolated into its value (the value is never echoed). */
  readonly fromEnv = new Map<string, readonly string[]>();
  /** Per YAML mapping, its pairs by key text: makes {@link lineOf} O(depth), not O(keys) (many unknown keys stayed quadratic). */
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    readonly file: string,
    readonly doc: Document | undefined,
    readonly lines: LineCounter,
  ) {}

  /** Records an issue at `path`, naming the override or the file line that supplied it. */
  add(path: readonly PropertyKey[], message: string): void {
    const key = formatKeyPath(path);
    for (const [prefix, origin] of this.origins) {
      if (key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`)) {
        this.issues.push({ file: origin, path: key, message });
        return;
      }
    }
    const line = this.lineOf(path);
    this.issues.push(line === undefined ? { file: this.file, path: key, message } : { file: this.file, line, path: key, message });
  }

  /** Records an issue that concerns the document rather than a key (YAML syntax). */
  addAt(offset: number | undefined, message: string, path: readonly PropertyKey[] = []): void {
    const issue: ConfigIssue = { file: this.file, path: formatKeyPath(path), message };
    if (offset !== undefined) issue.line = this.lines.linePos(offset).line;
    this.issues.push(issue);
  }

  /**
   * The line of the node at `path`: for a mapping entry the line of its key,
   * for a list item the line where the item starts; when the path leads to a
   * key that does not exist, the line of the deepest node that does (the
   * parent of a missing key).
   */
  lineOf(path: readonly PropertyKey[]): number | undefined {
    if (!this.doc) return undefined;
    let node: unknown = this.doc.contents;
    let line: number | undefined;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = this.pairs(node).get(String(seg));
        if (!pair) return line;
        line = this.startLine(pair.key) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item: unknown = node.items[seg];
        if (item === undefined) return line;
        line = this.startLine(item) ?? line;
        node = item;
      } else return line;
    }
    return line;
  }

  private pairs(map: YAMLMap): Map<string, Pair> {
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      // First occurrence wins, as `find` did (duplicates are a YAML error anyway).
      for (const p of map.items) {
        const k = keyText(p.key);
        if (!index.has(k)) index.set(k, p);
      }
      this.pairIndex.set(map, index);
    }
    return index;
  }

  private startLine(node: unknown): number | undefined {
    if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
    const range = (node as { range?: readonly number[] | null }).range;
    const start = range?.[0];
    return start === undefined ? undefined : this.lines.linePos(start).line;
  }

  /** Throws every issue recorded so far as one ConfigError (at most {@link MAX_REPORTED_ISSUES} of them, then a count). */
  fail(): never {
    const sorted = sortIssues(this.issues);
    if (sorted.length <= MAX_REPORTED_ISSUES) throw new ConfigError(sorted);
    const shown = sorted.slice(0, MAX_REPORTED_ISSUES);
    shown.push({ file: this.file, path: '', message: `… and ${sorted.length - MAX_REPORTED_ISSUES} more problems` });
    throw new ConfigError(shown);
  }
}

/** The text of a mapping key as a path segment. */
export function keyText(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

/** File, then line order (issues without a line last), stable otherwise. */
function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => {
      if (a.issue.file !== b.issue.file) return a.issue.file < b.issue.file ? -1 : 1;
      const la = a.issue.line ?? Number.MAX_SAFE_INTEGER;
      const lb = b.issue.line ?? Number.MAX_SAFE_INTEGER;
      return la - lb || a.i - b.i;
    })
    .map(({ issue }) => issue);
}

const YAML_MESSAGES: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: 'only one YAML document is allowed (remove the extra "---")',
  TAB_AS_INDENT: 'tabs are not allowed for indentation; use spaces',
};

/** Step 1 of loading: YAML syntax, duplicate keys, the top-level shape, aliases without anchors. */
export function checkYamlSyntax(doc: Document, ctx: LoadContext): void {
  // Report only the first error: later ones are almost always knock-on
  // effects of the first and only confuse.
  const err = doc.errors[0];
  if (err) {
    {
      // Some yaml messages quote the offending source text (`... in YAML stream: "hunter2"`);
      // it may be a secret, and the line number already points at it.
      const plain = err.message.replace(/ at line \d+, column \d+.*$/s, '').replace(/:\s*".*$/s, '');
      const message = YAML_MESSAGES[err.code] ?? lowerFirst(plain);
      ctx.addAt(err.pos[0], `invalid YAML: ${message}`);
    }
    return;
  }
  if (reportDuplicateKey(doc, ctx)) return;
  const top = doc.contents;
  // A lone `---` is a document whose content is a null scalar: as empty as an empty file.
  const empty = top === null || (isScalar(top) && top.value === null);
  if (!empty && !isMap(top)) {
    ctx.addAt(top?.range?.[0], `the top level must be a mapping of keys (like "listen: 0.0.0.0:9640"), got ${isSeq(top) ? 'a list' : 'a single value'}`);
    return;
  }
  walkNodes(doc.contents, [], (node, path) => {
    if (isAlias(node) && node.resolve(doc) === undefined) {
      ctx.addAt(node.range?.[0], `alias "*${node.source}" has no anchor "&${node.source}" before it`, path);
    }
  });
}

/**
 * Reports the first key that occurs twice in one mapping (yaml's own
 * `uniqueKeys` check compares every key with every other, quadratic in a
 * mapping's size; this is one Set per mapping). Keys compare by value, as
 * yaml does: `1` and `"1"` differ.
 */
function reportDuplicateKey(doc: Document, ctx: LoadContext): boolean {
  let found = false;
  walkNodes(doc.contents, [], (node, path) => {
    if (found || !isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key)) continue;
      const id = `${typeof key.value}\u0000${String(key.value)}`;
      if (!seen.has(id)) {
        seen.add(id);
        continue;
      }
      ctx.addAt(key.range?.[0], `duplicate key "${String(key.value)}"`, [...path, keyText(key)]);
      found = true;
      return;
    }
  });
  return found;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Visits every value node (not keys) with its key path; aliases are visited as aliases, not followed. */
export function walkNodes(node: unknown, path: Segment[], fn: (node: unknown, path: Segment[]) => void): void {
  fn(node, path);
  if (isMap(node)) for (const pair of node.items) walkNodes(pair.value, [...path, keyText(pair.key)], fn);
  else if (isSeq(node)) node.items.forEach((item, i) => walkNodes(item, [...path, i], fn));
}
