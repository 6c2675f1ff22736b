/**
 * Test certificates made with the real `openssl` at test time: a CA, a
 * server certificate for 127.0.0.1 / localhost, a client certificate signed
 * by the CA, and one signed by an unrelated CA (not a test file itself).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binaries.js';

export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** signed by another CA: presented, never trusted */
  strangerCert: string;
  strangerKey: string;
}

/** Issues a P-256 certificate `name` signed by `ca` (or self-signed CA when `ca` is undefined) in `dir`. */
export function issue(dir: string, name: string, subject: string, opts: { ca?: string; san?: string; usage?: 'serverAuth' | 'clientAuth' } = {}): { cert: string; key: string } {
  const openssl = findBinary('openssl', 'openssl');
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!opts.ca) {
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { cert, key };
  }
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${opts.usage ?? 'serverAuth'}\n${opts.san ? `subjectAltName=${opts.san}\n` : ''}`);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  run(['x509', '-req', '-in', csr, '-CA', `${opts.ca}.pem`, '-CAkey', `${opts.ca}.key`, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

/** A complete test PKI in `dir`. */
export function makePki(dir: string): TestPki {
  const ca = issue(dir, 'ca', '/CN=queuescope test CA');
  const server = issue(dir, 'server', '/CN=queuescope', { ca: join(dir, 'ca'), san: 'IP:127.0.0.1,DNS:localhost', usage: 'serverAuth' });
  const client = issue(dir, 'client', '/CN=prometheus', { ca: join(dir, 'ca'), san: 'DNS:prometheus', usage: 'clientAuth' });
  issue(dir, 'other-ca', '/CN=someone else');
  const stranger = issue(dir, 'stranger', '/CN=stranger', { ca: join(dir, 'other-ca'), san: 'DNS:prometheus', usage: 'clientAuth' });
  return { dir, caFile: ca.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, strangerCert: stranger.cert, strangerKey: stranger.key };
}
