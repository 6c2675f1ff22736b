/** The package version, read from package.json at start-up. */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    // dist/src/version.js -> ../../package.json; src/version.ts (vitest) -> ../package.json
    for (const rel of ['../../package.json', '../package.json']) {
      try {
        const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'queuescope' && pkg.version) return pkg.version;
      } catch {
        // try the next location
      }
    }
  } catch {
    // fall through
  }
  return '0.0.0';
}

/** queuescope's version (package.json `version`). */
export const VERSION = readVersion();
