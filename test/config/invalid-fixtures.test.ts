/**
 * One fixture file per error case in `fixtures/invalid/`. Each file ends with
 * `# expect: <message line>` comments: the exact lines the ConfigError must
 * print (file, line, key path, message), in order. The comments sit at the end
 * so they do not shift the lines being asserted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigError, formatConfigIssue } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';

const dir = fileURLToPath(new URL('./fixtures/invalid/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

// Secret-looking values used in the fixtures: no error message may repeat them.
const SECRETS_IN_FIXTURES = ['hunter2', 'SEC123', 'access_token=abc', 'key=abc'];
// An environment value that lands in the wrong field (env-secret-in-*.yaml) must not be echoed either.
const ENV = { QS_TEST_TOKEN: 'x', QS_TEST_SECRET: 'hunter2-from-env' };

function expectedLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# expect: '))
    .map((l) => l.slice('# expect: '.length));
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

describe('invalid config fixtures', () => {
  test('cover at least 15 cases', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  test.each(files)('%s', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = expectedLines(text);
    expect(expected.length, `${file} has no "# expect:" line`).toBeGreaterThan(0);

    // QS_TEST_UNSET_PASSWORD is deliberately absent (missing-env-var.yaml).
    const err = configError(() => parseConfigText(text, { file, env: ENV, baseDir: dir }));

    expect(err.message).toBe(expected.join('\n'));
    expect(err.issues.map(formatConfigIssue)).toEqual(expected);
    expect(err.exitCode).toBe(2);
    for (const issue of err.issues) expect(issue.file).toBe(file);
    for (const secret of SECRETS_IN_FIXTURES) expect(err.message).not.toContain(secret);
  });
});
