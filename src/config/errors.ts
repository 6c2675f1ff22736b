/**
 * Configuration errors: one {@link ConfigError} carries every problem found in
 * one load, each pinned to a file (or the environment variable / flag that
 * supplied the value), a line and a key path, so `queuescope check-config`
 * and startup can print them all at once and exit with code 2.
 */

/**
 * One problem in the configuration.
 *
 * - `file`: where the value came from, as the user named it: the config file
 *   path (`queuescope.yaml`, `/etc/queuescope.yaml`), an environment variable
 *   (`$QUEUESCOPE_LISTEN`) or a flag (`--listen`).
 * - `line`: 1-based line in `file`, when the value came from YAML.
 * - `path`: key path in `a.b[2].c` notation (see {@link formatKeyPath}); `''`
 *   when the problem concerns the document as a whole (a YAML syntax error).
 * - `message`: plain English, never a secret value.
 */
export interface ConfigIssue {
  file: string;
  line?: number;
  path: string;
  message: string;
}

/**
 * Renders one issue as `file:line: path: message`, omitting the line or path
 * when absent, e.g.
 * `queuescope.yaml:12: queues[2].windows[0]: invalid duration "5x" (use e.g. 500ms, 30s, 5m, 1h)`.
 */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

// Keys that read unambiguously after a dot; anything else (spaces, dots,
// quotes, an empty key) is written as ["..."] so the path stays parseable.
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Formats a key path as `a.b[2].c`: numbers become `[n]`, identifier-like keys
 * (letters, digits, `_`, `-`, `$`) are joined with dots, other keys are quoted
 * as `["a b"]`.
 */
export function formatKeyPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/**
 * An invalid configuration: bad YAML, unknown or missing keys, wrong types,
 * unset environment variables, unreadable `*File` secrets, conflicting
 * settings, bad overrides from the environment or flags.
 *
 * The CLI maps it to exit code 2 ({@link ConfigError.exitCode}); a reload
 * (`POST /-/reload`, SIGHUP) that throws it keeps the old config running.
 * `message` is every issue formatted by {@link formatConfigIssue}, one per
 * line. Neither `message` nor `issues` ever contains a secret value.
 */
export class ConfigError extends Error {
  /** The process exit code for an invalid configuration (see product.md, Exit codes). */
  readonly exitCode = 2;
  /** Every problem found, in file / line order; never empty. */
  readonly issues: readonly ConfigIssue[];

  /** @param issues at least one issue; they are rendered into `message` one per line. */
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Type guard for {@link ConfigError}, usable across module copies (checks the name too). */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError || (err instanceof Error && err.name === 'ConfigError' && 'issues' in err);
}
