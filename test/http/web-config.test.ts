/** The exporter-toolkit web config file: what is accepted, and the errors (file, line, key path) for what is not. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadWebConfig } from '../../src/http/web-config.js';
import { secureOptions, subjectAltNames } from '../../src/http/web-guard.js';
import { issue, makePki } from '../helpers/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-webcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pki = makePki(dir);
const HASH = '$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG';

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function errorOf(text: string): string {
  try {
    loadWebConfig(file('bad.yml', text));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('web config file', () => {
  it('reads TLS, client auth, users, headers, rate limit; relative files against its folder; TLS 1.2 minimum by default', () => {
    const cfg = loadWebConfig(
      file(
        'web.yml',
        `tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
http_server_config:
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  prometheus: "${HASH}"
rate_limit: { interval: 100ms, burst: 5 }
`,
      ),
    );
    expect(cfg.tls).toMatchObject({ clientAuth: 'RequireAndVerifyClientCert', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ecdhCurve: 'X25519:P-256', honorCipherOrder: true });
    expect(cfg.tls?.ciphers).toContain('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(cfg.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(cfg.files).toEqual([join(dir, 'web.yml'), pki.serverCert, pki.serverKey, pki.caFile]);
    expect(cfg.users).toEqual({ prometheus: HASH });
    expect(cfg.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    expect(cfg.rateLimit).toEqual({ intervalMs: 100, burst: 5 });
    expect(secureOptions(cfg.tls!)).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  });

  it('an empty file (or only basic_auth_users) means plain HTTP', () => {
    expect(loadWebConfig(file('empty.yml', '')).tls).toBeUndefined();
    expect(loadWebConfig(file('users.yml', `basic_auth_users: { a: "${HASH}" }\n`)).tls).toBeUndefined();
  });

  it('names the file, the line and the key path of each problem', () => {
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n')).toMatch(/bad\.yml.*tls_server_config\.key_file: missing/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: nope.key\n')).toMatch(/bad\.yml:3: tls_server_config\.key_file: cannot read nope\.key \(ENOENT\)/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS14\n')).toMatch(/bad\.yml:4: tls_server_config\.min_version/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cipher_suites:\n    - TLS_RSA_WITH_RC4_128_SHA\n')).toMatch(/bad\.yml:5: tls_server_config\.cipher_suites\[0\]: unknown cipher suite/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n')).toMatch(/needs client_ca_file/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n')).toMatch(/client_auth_type is NoClientCert/);
    expect(errorOf('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: Maybe\n')).toMatch(/bad\.yml:4: tls_server_config\.client_auth_type/);
    expect(errorOf('http_server_config:\n  headers:\n    X-Powered-By: me\n')).toMatch(/http_server_config\.headers\["X-Powered-By"\]|http_server_config\.headers\.X-Powered-By: header not allowed/);
    expect(errorOf('http_server_config:\n  headers:\n    X-Frame-Options: allow-from x\n')).toMatch(/deny or sameorigin/);
    expect(errorOf('basic_auth_users:\n  prometheus: plaintext\n')).toMatch(/bad\.yml:2: basic_auth_users\.prometheus: a bcrypt hash/);
    expect(errorOf('tls_server_config: {cert_file: server.pem, key_file: server.key}\nbasic_auth: {}\n')).toMatch(/bad\.yml.*basic_auth/);
    expect(errorOf('a: [\n')).toMatch(/bad\.yml:\d+:/);
    expect(errorOf('basic_auth_users: *nowhere\n')).toMatch(/bad\.yml: .*alias/i);
  });

  it('a certificate that does not match its key is refused when the file is read (half of a rotation written)', () => {
    const other = issue(dir, 'unrelated', '/CN=unrelated');
    writeFileSync(join(dir, 'mismatch.yml'), `tls_server_config:\n  cert_file: server.pem\n  key_file: ${other.key}\n`);
    expect(() => loadWebConfig(join(dir, 'mismatch.yml'))).toThrow(/mismatch\.yml:2: tls_server_config\.cert_file: the certificate, key or client CA cannot be used/);
  });

  it('never prints the key or a password hash in an error', () => {
    const msg = errorOf(`tls_server_config:\n  cert: "${'x'.repeat(10)}"\n  key: "SECRETKEYMATERIAL"\n  cert_file: server.pem\n  key_file: server.key\n`);
    expect(msg).not.toContain('SECRETKEYMATERIAL');
  });

  it('reads SANs the way Node reports them', () => {
    expect(subjectAltNames('DNS:prometheus, IP Address:10.0.0.1, email:a@b, URI:spiffe://x')).toEqual(['prometheus', '10.0.0.1', 'a@b', 'spiffe://x']);
    expect(subjectAltNames(undefined)).toEqual([]);
  });

  it('any file content is a config or a ConfigError, never another exception (property)', () => {
    const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 100);
    const keys = fc.constantFrom('tls_server_config', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'min_version', 'cipher_suites', 'basic_auth_users', 'http_server_config', 'headers', 'rate_limit', 'interval', 'burst', 'x');
    const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(keys, tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(fc.oneof(fc.string(), value.map((v) => JSON.stringify(v))), (text) => {
        try {
          loadWebConfig(file('fuzz.yml', text));
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: runs },
    );
  });
});
