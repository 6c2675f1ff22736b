/**
 * Files named by the config are read only when they are regular files under
 * their cap (issue 10 #6): a FIFO used to hang check-config and freeze the
 * sidecar on reload, `/dev/zero` grew it to 16.8 GB.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { MAX_SECRET_FILE_BYTES, readBoundedFile, readBoundedFileSync } from '../../src/config/secret-files.js';

const tls = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qs-secret-files-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  writeFileSync(join(dir, 'ok'), 's3cret\n');
  writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_SECRET_FILE_BYTES + 1, 'a'));
  writeFileSync(join(dir, 'exact'), Buffer.alloc(MAX_SECRET_FILE_BYTES, 'a'));
  writeFileSync(join(dir, 'not.pem'), 'this is not PEM\n');
  for (const f of ['ca.pem', 'client.pem', 'client.key']) copyFileSync(join(tls, f), join(dir, f));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

describe('readBoundedFile', () => {
  const cases: Array<[string, string]> = [
    ['fifo', 'is a FIFO (named pipe), not a regular file'],
    ['/dev/zero', 'is a device, not a regular file'],
    ['big', 'is larger than 64 KiB'],
    ['.', 'is a directory'],
    ['missing', 'no such file'],
  ];
  test.each(cases)('refuses %s (async and sync)', async (name, reason) => {
    const req = { path: join(dir, name), maxBytes: MAX_SECRET_FILE_BYTES };
    if (name.startsWith('/')) req.path = name;
    expect(await readBoundedFile(req)).toEqual({ ok: false, reason });
    expect(readBoundedFileSync(req)).toEqual({ ok: false, reason });
  });
  test('reads a regular file up to exactly its cap', async () => {
    const req = { path: join(dir, 'exact'), maxBytes: MAX_SECRET_FILE_BYTES };
    const a = await readBoundedFile(req);
    expect(a.ok && a.content.length).toBe(MAX_SECRET_FILE_BYTES);
    const b = readBoundedFileSync({ path: join(dir, 'ok'), maxBytes: 64 });
    expect(b.ok && b.content.toString()).toBe('s3cret\n');
  });
});

describe('config files naming them', () => {
  test('parseConfigText refuses a FIFO secret without blocking', () => {
    expect(messageOf(() => parseConfigText('redis:\n  passwordFile: fifo\n', { file: 'q.yaml', env: {}, baseDir: dir }))).toBe(
      'q.yaml:2: redis.passwordFile: cannot read "fifo": is a FIFO (named pipe), not a regular file',
    );
  });
  test('loadConfigFile (fs/promises) refuses /dev/zero and a FIFO TLS CA', async () => {
    const file = join(dir, 'q.yaml');
    writeFileSync(file, 'auth:\n  bearerTokenFile: /dev/zero\nredis:\n  url: rediss://127.0.0.1:6380/0\n  tls: { ca: fifo }\n');
    const err = await loadConfigFile(file, {}).then(
      () => undefined,
      (e: unknown) => e as ConfigError,
    );
    expect(err?.message).toBe(
      [`${file}:2: auth.bearerTokenFile: cannot read "/dev/zero": is a device, not a regular file`].join('\n'),
    );
    writeFileSync(file, 'redis:\n  url: rediss://127.0.0.1:6380/0\n  tls: { ca: fifo }\n');
    await expect(loadConfigFile(file, {})).rejects.toThrow(`${file}:3: redis.tls.ca: cannot read "fifo": is a FIFO (named pipe), not a regular file`);
  });
  test('the config file itself: a FIFO or a device is refused', async () => {
    await expect(loadConfigFile(join(dir, 'fifo'), {})).rejects.toThrow('cannot read the config file: is a FIFO (named pipe), not a regular file');
    await expect(loadConfigFile('/dev/zero', {})).rejects.toThrow('cannot read the config file: is a device, not a regular file');
  });
  test('TLS files must be usable: PEM, and cert with key', () => {
    const opts = { file: 'q.yaml', env: {}, baseDir: dir };
    expect(parseConfigText('redis:\n  tls: { ca: ca.pem, cert: client.pem, key: client.key }\n', opts).redis.tls.key).toBe(join(dir, 'client.key'));
    expect(messageOf(() => parseConfigText('redis:\n  tls: { cert: client.pem }\n', opts))).toBe('q.yaml:2: redis.tls.key: a client certificate needs both cert and key');
    expect(messageOf(() => parseConfigText('redis:\n  tls: { cert: not.pem, key: client.key }\n', opts))).toMatch(/^q\.yaml:2: redis\.tls: the TLS files cannot be used: /);
    expect(messageOf(() => parseConfigText('redis:\n  tls: { cert: client.pem, key: not.pem }\n', opts))).toMatch(/^q\.yaml:2: redis\.tls: the TLS files cannot be used: /);
  });
});
