/**
 * Finds the real server binaries tests run. A missing binary fails the test
 * with the Debian package to install; tests never skip for it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin'];

/**
 * Absolute path of `name` on PATH or in the sbin folders.
 * @throws Error naming the Debian package that provides it.
 */
export function findBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`${name} not found on PATH or in /usr/sbin: install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`);
}
