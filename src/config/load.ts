/**
 * The config loader: `queuescope.yaml` text -> validated {@link Config}.
 *
 * Pipeline (each step reports every problem it finds as a {@link ConfigIssue}
 * with file, line and key path, and throws one {@link ConfigError}):
 *
 * 1. parse with `yaml` (`parseDocument` + `LineCounter`): syntax errors,
 *    duplicate keys, aliases without anchors;
 * 2. `${VAR}` / `${VAR:-default}` interpolation on the YAML AST, so a missing
 *    variable is reported at the line that uses it;
 * 3. environment / flag overrides (`QUEUESCOPE_LISTEN`, `--listen`, …);
 * 4. zod validation (`schema.ts`), issue paths mapped back to YAML lines and
 *    zod's messages replaced by plain English;
 * 5. `*File` secrets read from disk into their plain field, then re-validated;
 * 6. cross-field checks (unique queue names, url vs sentinel / cluster);
 * 7. relative paths (TLS files, templates) made absolute against the config
 *    file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Scalar } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatKeyPath, type ConfigIssue } from './errors.js';
import { configSchema, type Config } from './schema.js';
import { DEFAULT_STORE_PATH, monitoredRedisConflict } from '../relay/store-config.js';

/** The `source` reported by {@link resolveConfig} (and the `file` of issues) when no config file is used. */
export const BUILT_IN_DEFAULTS = 'built-in defaults';

/** The file `resolveConfig` looks for in the working directory when neither `--config` nor `$QUEUESCOPE_CONFIG` is given. */
export const DEFAULT_CONFIG_FILE = 'queuescope.yaml';

/** Options of {@link parseConfigText}. */
export interface ParseConfigOptions {
  /** How issues name the file (as the user gave it, e.g. `queuescope.yaml` or `/etc/queuescope/queuescope.yaml`). */
  file: string;
  /** Variables for `${VAR}` interpolation (normally `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Folder that relative paths (`*File` secrets, TLS files, templates) resolve against: the config file's folder. */
  baseDir: string;
}

/** Options of {@link resolveConfig} (the CLI flags plus the process context). */
export interface ResolveOptions {
  /** `--config FILE`; relative to `cwd`. Wins over `$QUEUESCOPE_CONFIG` and `./queuescope.yaml`. */
  configPath?: string;
  /** Environment: `QUEUESCOPE_CONFIG`, the `QUEUESCOPE_*` overrides, and `${VAR}` interpolation. */
  env: NodeJS.ProcessEnv;
  /** Working directory: where `./queuescope.yaml` is looked for and relative `--config` paths start. */
  cwd: string;
  /** `--listen HOST:PORT`; wins over `$QUEUESCOPE_LISTEN` and the file. */
  listen?: string;
  /** `--log-level LEVEL`; wins over `$QUEUESCOPE_LOG_LEVEL` and the file. */
  logLevel?: string;
}

/** What {@link resolveConfig} found. */
export interface ResolvedConfig {
  /** The validated config, overrides applied (see {@link parseConfigText} for its shape). */
  config: Config;
  /** Absolute path of the config file used, or {@link BUILT_IN_DEFAULTS}. */
  source: string;
}

/**
 * Parses and validates the text of a config file. An empty file (or one with
 * only comments) yields the defaults.
 *
 * Durations come back in milliseconds; `*File` secrets are read (relative to
 * `opts.baseDir`), trimmed and moved into their plain field (`passwordFile` ->
 * `password`), and the `*File` keys are removed; `redis.tls.{ca,cert,key}`,
 * `modules.*.redis.tls.{ca,cert,key}` and `notify.*.*.template` become
 * absolute paths. `discover` stays `undefined` when absent (= built-in
 * discovery of every framework, see `DEFAULT_DISCOVERY`).
 *
 * Reads secret files synchronously.
 *
 * @throws {ConfigError} with every problem found (YAML syntax, unknown /
 *   missing keys, wrong types, unset variables, unreadable secret files,
 *   duplicate queue names…), each naming `opts.file`, the line and key path.
 */
export function parseConfigText(text: string, opts: ParseConfigOptions): Config {
  return parseWithOverrides(text, opts, []);
}

/**
 * Reads and parses one config file. Issues name the file as `path` was given;
 * relative paths inside it resolve against the file's folder.
 *
 * @param path config file path, relative to `process.cwd()` or absolute.
 * @param env variables for `${VAR}` interpolation.
 * @throws {ConfigError} when the file cannot be read or is invalid (see {@link parseConfigText}).
 */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<Config> {
  const abs = nodePath.resolve(path);
  const text = await readConfigFile(abs, path);
  return parseConfigText(text, { file: path, env, baseDir: nodePath.dirname(abs) });
}

/**
 * Finds, loads and validates the effective configuration.
 *
 * Which file: `opts.configPath` (`--config`) > `$QUEUESCOPE_CONFIG` >
 * `./queuescope.yaml` in `opts.cwd` if it exists > no file (the schema's
 * defaults; `discover` left `undefined`, MySQL off). A named file that does
 * not exist is an error, never a silent fallback.
 *
 * Then overrides, later ones winning: the file < `QUEUESCOPE_LISTEN`,
 * `QUEUESCOPE_REDIS_URL`, `QUEUESCOPE_MYSQL_URL` (creates the `mysql` block
 * when absent, which enables MySQL collection), `QUEUESCOPE_LOG_LEVEL` <
 * `opts.listen` / `opts.logLevel` (flags). Empty environment variables count
 * as unset. Overrides are validated like file values; their issues name the
 * variable (`$QUEUESCOPE_LISTEN`) or flag (`--listen`) instead of a file line.
 *
 * @throws {ConfigError} for an unreadable or invalid file or a bad override.
 */
export async function resolveConfig(opts: ResolveOptions): Promise<ResolvedConfig> {
  const { env, cwd } = opts;
  const overrides = collectOverrides(opts);

  if (opts.configPath === '') throw new ConfigError([{ file: '--config', path: '', message: 'needs a file path' }]);
  let named: { path: string; via: string } | undefined;
  if (opts.configPath !== undefined) named = { path: opts.configPath, via: '--config' };
  else if (env.QUEUESCOPE_CONFIG) named = { path: env.QUEUESCOPE_CONFIG, via: '$QUEUESCOPE_CONFIG' };
  else if (existsSync(nodePath.resolve(cwd, DEFAULT_CONFIG_FILE))) named = { path: DEFAULT_CONFIG_FILE, via: '' };

  if (named === undefined) {
    const config = parseWithOverrides('', { file: BUILT_IN_DEFAULTS, env, baseDir: cwd }, overrides);
    return { config, source: BUILT_IN_DEFAULTS };
  }
  const abs = nodePath.resolve(cwd, named.path);
  const text = await readConfigFile(abs, named.path, named.via);
  const config = parseWithOverrides(text, { file: named.path, env, baseDir: nodePath.dirname(abs) }, overrides);
  return { config, source: abs };
}

// ---------------------------------------------------------------------------
// Overrides

/** One value set from outside the file; `origin` names it in issues (`$QUEUESCOPE_LISTEN`, `--listen`). */
interface Override {
  path: readonly string[];
  value: string;
  origin: string;
}

const ENV_OVERRIDES: ReadonlyArray<{ variable: string; path: readonly string[] }> = [
  { variable: 'QUEUESCOPE_LISTEN', path: ['listen'] },
  { variable: 'QUEUESCOPE_REDIS_URL', path: ['redis', 'url'] },
  { variable: 'QUEUESCOPE_MYSQL_URL', path: ['mysql', 'url'] },
  { variable: 'QUEUESCOPE_LOG_LEVEL', path: ['logLevel'] },
];

/** Environment first, flags last: later entries win when applied in order. */
function collectOverrides(opts: ResolveOptions): Override[] {
  const out: Override[] = [];
  for (const { variable, path } of ENV_OVERRIDES) {
    const value = opts.env[variable];
    // Empty counts as unset: compose files often pass `VAR=` through.
    if (value !== undefined && value !== '') out.push({ path, value, origin: `$${variable}` });
  }
  if (opts.listen !== undefined) out.push({ path: ['listen'], value: opts.listen, origin: '--listen' });
  if (opts.logLevel !== undefined) out.push({ path: ['logLevel'], value: opts.logLevel, origin: '--log-level' });
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Writes overrides into the raw (pre-validation) data, creating missing
 * parent blocks (`mysql:`); returns key path -> origin of the values written.
 * A parent that exists but is not a mapping is left alone: the file's own
 * error for it is the one worth reporting.
 */
function applyOverrides(data: Record<string, unknown>, overrides: readonly Override[]): Map<string, string> {
  const origins = new Map<string, string>();
  for (const o of overrides) {
    let target: Record<string, unknown> = data;
    let ok = true;
    for (const seg of o.path.slice(0, -1)) {
      const next = target[seg];
      if (next === undefined) target[seg] = {};
      else if (!isPlainObject(next)) {
        ok = false;
        break;
      }
      target = target[seg] as Record<string, unknown>;
    }
    const last = o.path[o.path.length - 1];
    if (!ok || last === undefined) continue;
    target[last] = o.value;
    origins.set(formatKeyPath(o.path), o.origin);
  }
  return origins;
}

// ---------------------------------------------------------------------------
// The pipeline

type Segment = string | number;

/** Everything the steps share: where issues point and how to find lines. */
class LoadContext {
  readonly issues: ConfigIssue[] = [];
  /** key path -> origin (`$QUEUESCOPE_LISTEN`) of values that came from overrides. */
  origins = new Map<string, string>();
  /** key path of a plain secret field -> the `*File` path it was read from. */
  readonly fromFile = new Map<string, { filePath: Segment[]; fileName: string }>();

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
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
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

  private startLine(node: unknown): number | undefined {
    if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
    const range = (node as { range?: readonly number[] | null }).range;
    const start = range?.[0];
    return start === undefined ? undefined : this.lines.linePos(start).line;
  }

  fail(): never {
    throw new ConfigError(sortIssues(this.issues));
  }
}

function keyText(key: unknown): string {
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

function parseWithOverrides(text: string, opts: ParseConfigOptions, overrides: readonly Override[]): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx: LoadContext = new LoadContext(opts.file, doc, lines);

  checkYamlSyntax(doc, ctx);
  if (ctx.issues.length > 0) ctx.fail();

  const interpolated = interpolateDocument(doc, opts.env, ctx);
  if (ctx.issues.length > 0) ctx.fail();

  let data: Record<string, unknown>;
  try {
    const js: unknown = doc.toJS({ maxAliasCount: 100 });
    data = js === null || js === undefined ? {} : (js as Record<string, unknown>);
  } catch (err) {
    // toJS fails only on alias explosions ("billion laughs"); anchors are checked above.
    ctx.addAt(undefined, `invalid YAML: ${err instanceof Error ? err.message : String(err)}`);
    ctx.fail();
  }

  ctx.origins = applyOverrides(data, overrides);

  // Pass 1: shape. Secret files are not read until the shape is right, so a
  // typo never makes us open a file the user did not mean.
  let config = validate(data, ctx, interpolated);
  if (readSecretFiles(config, data, opts.baseDir, ctx)) {
    if (ctx.issues.length > 0) ctx.fail();
    // Pass 2: the values read from files must fit their field too (a urlFile
    // must hold an http(s) URL); issues point at the `*File` key.
    config = validate(data, ctx, interpolated);
  }

  checkCrossField(config, data, ctx);
  if (ctx.issues.length > 0) ctx.fail();

  resolveRelativePaths(config, opts.baseDir);
  return config;
}

// ---------------------------------------------------------------------------
// Step 1: YAML

const YAML_MESSAGES: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: 'only one YAML document is allowed (remove the extra "---")',
  TAB_AS_INDENT: 'tabs are not allowed for indentation; use spaces',
};

function checkYamlSyntax(doc: Document, ctx: LoadContext): void {
  // Report only the first error: later ones are almost always knock-on
  // effects of the first and only confuse.
  const err = doc.errors[0];
  if (err) {
    if (err.code === 'DUPLICATE_KEY') {
      const path = pathAtOffset(doc, err.pos[0]);
      const key = path[path.length - 1];
      ctx.addAt(err.pos[0], `duplicate key "${String(key ?? '')}"`, path);
    } else {
      // Some yaml messages quote the offending source text (`... in YAML stream: "hunter2"`);
      // it may be a secret, and the line number already points at it.
      const plain = err.message.replace(/ at line \d+, column \d+.*$/s, '').replace(/:\s*".*$/s, '');
      const message = YAML_MESSAGES[err.code] ?? lowerFirst(plain);
      ctx.addAt(err.pos[0], `invalid YAML: ${message}`);
    }
    return;
  }
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

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Key path of the mapping key that starts at `offset` (used to name a duplicate key). */
function pathAtOffset(doc: Document, offset: number): Segment[] {
  let found: Segment[] = [];
  const visit = (node: unknown, path: Segment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyText(pair.key);
        const range = isScalar(pair.key) ? pair.key.range : undefined;
        if (range && range[0] <= offset && offset < Math.max(range[1], range[0] + 1)) found = [...path, key];
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => visit(item, [...path, i]));
  };
  visit(doc.contents, []);
  return found;
}

/** Visits every value node (not keys) with its key path; aliases are visited as aliases, not followed. */
function walkNodes(node: unknown, path: Segment[], fn: (node: unknown, path: Segment[]) => void): void {
  fn(node, path);
  if (isMap(node)) for (const pair of node.items) walkNodes(pair.value, [...path, keyText(pair.key)], fn);
  else if (isSeq(node)) node.items.forEach((item, i) => walkNodes(item, [...path, i], fn));
}

// ---------------------------------------------------------------------------
// Step 2: ${VAR} interpolation

type Interpolation = { ok: true; value: string; changed: boolean } | { ok: false; messages: string[] };

const VAR_REF = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when VAR is unset or
 * empty, like the shell); `$${` is a literal `${`; any other `$` is kept.
 * Defaults are taken literally (no nesting).
 */
function interpolateString(text: string, env: NodeJS.ProcessEnv): Interpolation {
  let out = '';
  let changed = false;
  const messages: string[] = [];
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('$', i);
    if (at < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, at);
    if (text.startsWith('$${', at)) {
      out += '${';
      changed = true;
      i = at + 3;
    } else if (text.startsWith('${', at)) {
      const end = text.indexOf('}', at + 2);
      // The reference text is not echoed: a malformed one may hold a secret default.
      if (end < 0) return { ok: false, messages: ['unterminated "${" (use ${VAR} or ${VAR:-default}; write $${ for a literal ${)'] };
      const m = VAR_REF.exec(text.slice(at + 2, end));
      if (!m) return { ok: false, messages: ['invalid variable reference (use ${VAR} or ${VAR:-default}; write $${ for a literal ${)'] };
      const name = m[1] as string;
      const fallback = m[2];
      const value = env[name];
      if (fallback !== undefined) out += value === undefined || value === '' ? fallback : value;
      else if (value === undefined) messages.push(`environment variable ${name} is not set (use \${${name}:-default} for a fallback)`);
      else out += value;
      changed = true;
      i = end + 1;
    } else {
      out += '$';
      i = at + 1;
    }
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, value: out, changed };
}

/**
 * Interpolates every string scalar value in place. Returns the key paths of
 * interpolated *plain* (unquoted) scalars: those may be read as a number or
 * boolean where the schema wants one (`scanCount: ${SCAN_COUNT:-500}`), while
 * quoted ones stay strings.
 */
function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, ctx: LoadContext): Set<string> {
  const plain = new Set<string>();
  walkNodes(doc.contents, [], (node, path) => {
    if (!isScalar(node) || typeof node.value !== 'string') return;
    const scalar = node as Scalar<string>;
    const result = interpolateString(scalar.value, env);
    if (!result.ok) {
      for (const message of result.messages) ctx.add(path, message);
      return;
    }
    if (!result.changed) return;
    scalar.value = result.value;
    if (scalar.type === 'PLAIN') plain.add(formatKeyPath(path));
  });
  return plain;
}

// ---------------------------------------------------------------------------
// Step 4: validation

const EXPECTED: Partial<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

/** Plain-English name of a YAML value's type ("a list", "an empty value"). */
function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
    case 'bigint':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof value}`;
  }
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Replaces zod's default messages (schema-level messages in `schema.ts` take
 * precedence and are kept). Returning `undefined` falls back to zod's text;
 * every code zod 4 can raise here has an entry.
 */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'missing required key';
      const expected = EXPECTED[iss.expected] ?? `a ${iss.expected}`;
      if (iss.expected === 'int' && typeof iss.input === 'number') return `expected a whole number, got ${iss.input}`;
      const hint = iss.expected === 'string' && (typeof iss.input === 'number' || typeof iss.input === 'boolean') ? ' (put it in quotes)' : '';
      return `expected ${expected}, got ${describeValue(iss.input)}${hint}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'array' || iss.origin === 'set') return `needs at least ${count(min, 'entry', 'entries')}`;
      if (iss.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${count(min, 'character', 'characters')} long`;
      return iss.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'array' || iss.origin === 'set') return `may have at most ${count(max, 'entry', 'entries')}`;
      if (iss.origin === 'string') return `must be at most ${count(max, 'character', 'characters')} long`;
      return iss.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value': {
      const values = iss.values.map((v) => String(v));
      const got = typeof iss.input === 'string' ? `invalid value "${iss.input}"` : `invalid value (${describeValue(iss.input)})`;
      return values.length === 1 ? `${got} (must be ${values[0]})` : `${got} (must be one of ${values.join(', ')})`;
    }
    case 'invalid_format':
      return iss.format === 'regex' && 'pattern' in iss ? `must match ${String(iss.pattern)}` : `is not a valid ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys':
      return `unknown key${iss.keys.length === 1 ? '' : 's'} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union':
      return 'does not match any allowed form';
    case 'invalid_key':
      return 'invalid key';
    case 'invalid_element':
      return 'invalid entry';
    case 'custom':
      return 'invalid value';
    default:
      return undefined;
  }
};

function getAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = data;
  for (const seg of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

function setAt(data: unknown, path: readonly PropertyKey[], value: unknown): void {
  const parent = getAt(data, path.slice(0, -1));
  const last = path[path.length - 1];
  if (typeof parent === 'object' && parent !== null && last !== undefined) (parent as Record<PropertyKey, unknown>)[last] = value;
}

/**
 * An interpolated plain scalar where the schema wants a number or boolean:
 * reads it as one when it looks like one. Returns whether anything changed.
 */
function coerceInterpolated(issues: readonly z.core.$ZodIssue[], data: unknown, interpolated: ReadonlySet<string>): boolean {
  let changed = false;
  for (const iss of issues) {
    if (iss.code !== 'invalid_type' || !interpolated.has(formatKeyPath(iss.path))) continue;
    const value = getAt(data, iss.path);
    if (typeof value !== 'string') continue;
    if ((iss.expected === 'number' || iss.expected === 'int') && /^-?\d+(\.\d+)?$/.test(value.trim())) {
      setAt(data, iss.path, Number(value));
      changed = true;
    } else if (iss.expected === 'boolean' && /^(true|false)$/i.test(value.trim())) {
      setAt(data, iss.path, value.trim().toLowerCase() === 'true');
      changed = true;
    }
  }
  return changed;
}

function validate(data: Record<string, unknown>, ctx: LoadContext, interpolated: ReadonlySet<string>): Config {
  let result = configSchema.safeParse(data, { error: errorMap });
  if (!result.success && coerceInterpolated(result.error.issues, data, interpolated)) {
    result = configSchema.safeParse(data, { error: errorMap });
  }
  if (result.success) return result.data;
  for (const iss of result.error.issues) reportIssue(iss, data, ctx);
  ctx.fail();
}

/** Turns one zod issue into ConfigIssues, with the shapes zod's own messages get wrong for a config file. */
function reportIssue(iss: z.core.$ZodIssue, data: unknown, ctx: LoadContext): void {
  const fileOrigin = ctx.fromFile.get(formatKeyPath(iss.path));
  if (fileOrigin) {
    // A value read from a `*File`: point at the `*File` key, never echo the content.
    ctx.add(fileOrigin.filePath, `content of "${fileOrigin.fileName}": ${iss.message}`);
    return;
  }
  switch (iss.code) {
    case 'unrecognized_keys':
      // One issue per key, at the key's own line.
      for (const key of iss.keys) ctx.add([...iss.path, key], `unknown key "${key}"`);
      return;
    case 'invalid_union': {
      if (!('discriminator' in iss) || typeof iss.discriminator !== 'string') break;
      const value = getAt(data, iss.path);
      const options = 'options' in iss && Array.isArray(iss.options) ? (iss.options as unknown[]).map(String) : undefined;
      if (value === undefined) ctx.add(iss.path, 'missing required key');
      else if (typeof value === 'string' && options) ctx.add(iss.path, `unknown ${iss.discriminator} "${value}" (must be one of ${options.join(', ')})`);
      else ctx.add(iss.path, `expected a string, got ${describeValue(value)}`);
      return;
    }
    case 'invalid_key': {
      const key = iss.path[iss.path.length - 1];
      const detail = iss.issues[0]?.message;
      ctx.add(iss.path, `invalid name "${String(key)}"${detail ? ` (${detail})` : ''}`);
      return;
    }
    default:
      break;
  }
  ctx.add(iss.path, iss.message);
}

// ---------------------------------------------------------------------------
// Step 5: *File secrets

/** Secret fields that accept `xFile`; `url` only occurs with `urlFile` on notify targets. */
const SECRET_FIELDS = ['password', 'secret', 'bearerToken', 'url'] as const;

const FS_ERRORS: Partial<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
};

function describeFsError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return FS_ERRORS[code] ?? (code || 'read failed');
}

/**
 * Finds every `xFile` in the validated config and moves the trimmed file
 * content into `x` in the raw data (deleting `xFile`; an empty `xFile: ""`
 * just goes away). Returns whether the raw data changed.
 */
function readSecretFiles(config: Config, data: Record<string, unknown>, baseDir: string, ctx: LoadContext): boolean {
  let changed = false;
  const visit = (node: unknown, path: Segment[]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...path, i]));
      return;
    }
    if (!isPlainObject(node)) return;
    for (const field of SECRET_FIELDS) {
      const fileKey = `${field}File`;
      const fileName = node[fileKey];
      if (typeof fileName !== 'string') continue;
      const rawParent = getAt(data, path);
      if (!isPlainObject(rawParent)) continue;
      changed = true;
      delete rawParent[fileKey];
      if (fileName === '') continue;
      const filePath = [...path, fileKey];
      let content: string;
      try {
        content = readFileSync(nodePath.resolve(baseDir, fileName), 'utf8').trim();
      } catch (err) {
        ctx.add(filePath, `cannot read "${fileName}": ${describeFsError(err)}`);
        continue;
      }
      // An empty secret is almost always a broken mount; for bearerTokenFile
      // it would silently turn authentication off.
      if (content === '') {
        ctx.add(filePath, `"${fileName}" is empty`);
        continue;
      }
      rawParent[field] = content;
      ctx.fromFile.set(formatKeyPath([...path, field]), { filePath, fileName });
    }
    for (const [key, value] of Object.entries(node)) if (typeof value === 'object') visit(value, [...path, key]);
  };
  visit(config, []);
  return changed;
}

// ---------------------------------------------------------------------------
// Step 6: cross-field checks

function checkUniqueNames(
  items: ReadonlyArray<{ name?: string | undefined; key?: string }>,
  base: Segment[],
  what: string,
  ctx: LoadContext,
): void {
  const seen = new Map<string, Segment[]>();
  items.forEach((item, i) => {
    const name = item.name ?? item.key;
    if (name === undefined) return;
    const path = [...base, i, item.name !== undefined ? 'name' : 'key'];
    const first = seen.get(name);
    if (!first) {
      seen.set(name, path);
      return;
    }
    const firstLine = ctx.lineOf(first);
    const where = firstLine === undefined ? formatKeyPath(first) : `${formatKeyPath(first)}, line ${firstLine}`;
    ctx.add(path, `duplicate ${what} name "${name}" (already used by ${where})`);
  });
}

function checkCrossField(config: Config, data: Record<string, unknown>, ctx: LoadContext): void {
  const storeConflict = monitoredRedisConflict(config);
  if (storeConflict) ctx.add(['notify', 'store', 'redis'], storeConflict);
  checkUniqueNames(config.queues, ['queues'], 'queue', ctx);
  checkUniqueNames(config.components, ['components'], 'component', ctx);
  for (const [name, mod] of Object.entries(config.modules)) {
    checkUniqueNames(mod.queues, ['modules', name, 'queues'], 'queue', ctx);
    checkUniqueNames(mod.components, ['modules', name, 'components'], 'component', ctx);
  }
  // Fail closed: an `auth:` block whose token came out empty (`${TOKEN:-}`)
  // would otherwise leave every route open without a word.
  if (config.auth) {
    const { bearerToken, basic } = config.auth;
    if (!bearerToken && !basic) ctx.add(['auth'], 'needs a non-empty bearerToken (or bearerTokenFile) or basic; omit auth to turn authentication off');
    if (basic && !basic.password) ctx.add(['auth', 'basic', 'password'], 'one of password & passwordFile is required');
  }
  // `url` has a default, so only an explicitly set one conflicts with sentinel / cluster.
  const rawRedis = data.redis;
  if (isPlainObject(rawRedis) && rawRedis.url !== undefined) {
    const other = config.redis.sentinel ? 'sentinel' : config.redis.cluster ? 'cluster' : undefined;
    if (other) ctx.add(['redis', 'url'], `at most one of url & ${other} may be set`);
  }
}

// ---------------------------------------------------------------------------
// Step 7: relative paths

function absolutize(value: string, baseDir: string): string {
  return value === '' ? value : nodePath.resolve(baseDir, value);
}

function resolveTls(tls: Config['redis']['tls'], baseDir: string): void {
  tls.ca = absolutize(tls.ca, baseDir);
  tls.cert = absolutize(tls.cert, baseDir);
  tls.key = absolutize(tls.key, baseDir);
}

function resolveRelativePaths(config: Config, baseDir: string): void {
  resolveTls(config.redis.tls, baseDir);
  for (const mod of Object.values(config.modules)) resolveTls(mod.redis.tls, baseDir);
  for (const target of Object.values(config.notify.dingtalk)) target.template = absolutize(target.template, baseDir);
  for (const target of Object.values(config.notify.wecom)) target.template = absolutize(target.template, baseDir);
  config.notify.store.path = absolutize(config.notify.store.path || DEFAULT_STORE_PATH, baseDir);
}

// ---------------------------------------------------------------------------

async function readConfigFile(abs: string, shown: string, via = ''): Promise<string> {
  try {
    return await readFile(abs, 'utf8');
  } catch (err) {
    const named = via === '' ? '' : `, named by ${via}`;
    throw new ConfigError([{ file: shown, path: '', message: `cannot read the config file: ${describeFsError(err)}${named}` }]);
  }
}
