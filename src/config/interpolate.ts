/**
 * `${VAR}` / `${VAR:-default}` interpolation of environment variables into
 * config values, on the YAML AST so a missing variable is reported at the
 * line that uses it (config.md: "a missing variable without a default is an
 * error").
 */
import { isScalar, type Document, type Scalar } from 'yaml';
import { formatKeyPath } from './errors.js';
import { walkNodes, type LoadContext } from './yaml-source.js';

type Interpolation = { ok: true; value: string; changed: boolean; variables: string[] } | { ok: false; messages: string[] };

const VAR_REF = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when VAR is unset or
 * empty, like the shell); `$${` is a literal `${`; any other `$` is kept.
 * Defaults are taken literally (no nesting). Linear in the text.
 */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): Interpolation {
  let out = '';
  let changed = false;
  const messages: string[] = [];
  const variables: string[] = [];
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
      variables.push(name);
      changed = true;
      i = end + 1;
    } else {
      out += '$';
      i = at + 1;
    }
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, value: out, changed, variables };
}

/**
 * Interpolates every string scalar value in place. Records in
 * `ctx.fromEnv` which variables went into which key path (their values are
 * never echoed in an error), and returns the key paths of interpolated
 * *plain* (unquoted) scalars: those may be read as a number or boolean where
 * the schema wants one (`scanCount: ${SCAN_COUNT:-500}`), while quoted ones
 * stay strings.
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, ctx: LoadContext): Set<string> {
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
    const key = formatKeyPath(path);
    if (result.variables.length > 0) ctx.fromEnv.set(key, result.variables);
    if (scalar.type === 'PLAIN') plain.add(key);
  });
  return plain;
}
