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
 * 5. `*File` secrets read from disk into their plain field, then re-validated,
 *    and TLS files checked (regular files under a size cap, usable by Node's
 *    TLS): `secret-files.ts`;
 * 6. cross-field checks (unique queue names, url vs sentinel / cluster) and
 *    what start-up would otherwise reject (URLs that do not parse, listen
 *    hosts that are no address): `connection-urls.ts`;
 * 7. relative paths (TLS files, templates) made absolute against the config
 *    file's folder.
 *
 * The steps are one generator that yields the files it needs read: the
 * sidecar drives it with `fs/promises` ({@link resolveConfig},
 * {@link loadConfigFile}), {@link parseConfigText} synchronously with the
 * same checks. YAML positions live in `yaml-source.ts`, `${VAR}` in
 * `interpolate.ts`, messages in `messages.ts`.
 */
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { hostProblem, mysqlUrlProblem, redisUrlProblem } from './connection-urls.js';
import { ConfigError, formatKeyPath } from './errors.js';
import { interpolateDocument } from './interpolate.js';
import { validate } from './messages.js';
import type { Config } from './schema.js';
import {
  applySecretFiles,
  checkTlsFiles,
  findSecretFiles,
  findTlsFiles,
  readBoundedFile,
  readBoundedFileSync,
  type FileRead,
  type FileRequest,
} from './secret-files.js';
import { checkYamlSyntax, LoadContext, type Segment } from './yaml-source.js';
import { DEFAULT_STORE_PATH, monitoredRedisConflict } from '../relay/store-config.js';

/** Largest config file read, bytes: a config with thousands of queues is far below it. */
export const MAX_CONFIG_FILE_BYTES = 8 * 1024 * 1024;

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
 * Reads `*File` secrets and TLS files synchronously, but only regular files
 * under their size cap (a FIFO or a device is refused before any read); the
 * sidecar itself loads through {@link resolveConfig}, which never blocks.
 *
 * @throws {ConfigError} with every problem found (YAML syntax, unknown /
 *   missing keys, wrong types, unset variables, unreadable secret files,
 *   duplicate queue names…), each naming `opts.file`, the line and key path.
 */
export function parseConfigText(text: string, opts: ParseConfigOptions): Config {
  return runSync(loadSteps(text, opts, []));
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
  return runAsync(loadSteps(text, { file: path, env, baseDir: nodePath.dirname(abs) }, []));
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
    const config = await runAsync(loadSteps('', { file: BUILT_IN_DEFAULTS, env, baseDir: cwd }, overrides));
    return { config, source: BUILT_IN_DEFAULTS };
  }
  const abs = nodePath.resolve(cwd, named.path);
  const text = await readConfigFile(abs, named.path, named.via);
  const config = await runAsync(loadSteps(text, { file: named.path, env, baseDir: nodePath.dirname(abs) }, overrides));
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

/** The loader's steps; yields the files it needs read and gets their contents back, in order. */
type Steps = Generator<FileRequest[], Config, FileRead[]>;

function runSync(steps: Steps): Config {
  let next = steps.next();
  while (!next.done) next = steps.next(next.value.map(readBoundedFileSync));
  return next.value;
}

async function runAsync(steps: Steps): Promise<Config> {
  let next = steps.next();
  while (!next.done) next = steps.next(await Promise.all(next.value.map(readBoundedFile)));
  return next.value;
}

function* loadSteps(text: string, opts: ParseConfigOptions, overrides: readonly Override[]): Steps {
  const lines = new LineCounter();
  // Duplicate keys are found in checkYamlSyntax: yaml's own check compares every key with every other.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
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
  const secrets = findSecretFiles(config, data, opts.baseDir);
  if (secrets.changed) {
    const reads: FileRead[] = secrets.refs.length > 0 ? yield secrets.refs.map((r) => r.request) : [];
    applySecretFiles(secrets.refs, reads, data, ctx);
    if (ctx.issues.length > 0) ctx.fail();
    // Pass 2: the values read from files must fit their field too (a urlFile
    // must hold an http(s) URL); issues point at the `*File` key.
    config = validate(data, ctx, interpolated);
  }

  checkCrossField(config, data, ctx);
  checkConnectable(config, ctx);
  const tls = findTlsFiles(config, opts.baseDir);
  if (tls.length > 0) checkTlsFiles(tls, yield tls.map((t) => t.request), ctx);
  if (ctx.issues.length > 0) ctx.fail();

  resolveRelativePaths(config, opts.baseDir);
  return config;
}

/**
 * What start-up would reject although the schema's shapes allow it: URLs the
 * connection code cannot parse, listen / node hosts that are no address.
 */
function checkConnectable(config: Config, ctx: LoadContext): void {
  const redisUrl = redisUrlProblem(config.redis.url);
  if (redisUrl) ctx.add(['redis', 'url'], redisUrl);
  if (config.mysql) {
    const mysqlUrl = mysqlUrlProblem(config.mysql.url);
    if (mysqlUrl) ctx.add(['mysql', 'url'], mysqlUrl);
  }
  const hosts: Array<[Segment[], string]> = [[['listen'], config.listen]];
  config.redis.sentinel?.nodes.forEach((n, i) => hosts.push([['redis', 'sentinel', 'nodes', i], n]));
  config.redis.cluster?.nodes.forEach((n, i) => hosts.push([['redis', 'cluster', 'nodes', i], n]));
  for (const [path, hostPort] of hosts) {
    const problem = hostProblem(hostPort);
    if (problem) ctx.add(path, problem);
  }
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
  const read = await readBoundedFile({ path: abs, maxBytes: MAX_CONFIG_FILE_BYTES });
  if (!read.ok) {
    const named = via === '' ? '' : `, named by ${via}`;
    throw new ConfigError([{ file: shown, path: '', message: `cannot read the config file: ${read.reason}${named}` }]);
  }
  return read.content.toString('utf8');
}
