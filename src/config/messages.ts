/**
 * Schema validation with messages for people editing a config file: zod's
 * issues turned into plain English at the right key path and line, values
 * read from `*File` secrets or `${VAR}` never echoed.
 */
import { z } from 'zod';
import { formatKeyPath } from './errors.js';
import { configSchema, type Config } from './schema.js';
import type { LoadContext } from './yaml-source.js';

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
export function describeValue(value: unknown): string {
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

/** The raw value at `path` in plain data, or `undefined`. */
export function getAt(data: unknown, path: readonly PropertyKey[]): unknown {
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

/**
 * Validates the raw data against the schema.
 * @returns the validated config.
 * @throws ConfigError (through `ctx.fail()`) with every issue, when invalid.
 */
export function validate(data: Record<string, unknown>, ctx: LoadContext, interpolated: ReadonlySet<string>): Config {
  let result = configSchema.safeParse(data, { error: errorMap });
  if (!result.success && coerceInterpolated(result.error.issues, data, interpolated)) {
    result = configSchema.safeParse(data, { error: errorMap });
  }
  if (result.success) return result.data;
  for (const iss of result.error.issues) reportIssue(iss, data, ctx);
  ctx.fail();
}

/**
 * A message about a value that came (wholly or partly) from `${VAR}`, with
 * the value replaced by the variable's name: the environment is where
 * secrets live, and one landing in the wrong field (an enum, a duration)
 * must not be printed.
 */
function scrubInterpolated(message: string, path: readonly PropertyKey[], data: unknown, ctx: LoadContext): string {
  const vars = ctx.fromEnv.get(formatKeyPath(path));
  if (!vars) return message;
  const value = getAt(data, path);
  if (typeof value !== 'string' || value === '') return message;
  const from = `from ${vars.map((v) => `\${${v}}`).join(' and ')}`;
  let out = message.split(`"${value}"`).join(from);
  // Unquoted echoes too, unless the value is too short to be told apart from ordinary words.
  if (value.length >= 3) out = out.split(value).join(`<${from}>`);
  return out;
}

/** Turns one zod issue into ConfigIssues, with the shapes zod's own messages get wrong for a config file. */
function reportIssue(iss: z.core.$ZodIssue, data: unknown, ctx: LoadContext): void {
  const fileOrigin = ctx.fromFile.get(formatKeyPath(iss.path));
  if (fileOrigin) {
    // A value read from a `*File`: point at the `*File` key, never echo the content.
    ctx.add(fileOrigin.filePath, `content of "${fileOrigin.fileName}": ${iss.message}`);
    return;
  }
  const add = (path: readonly PropertyKey[], message: string): void => ctx.add(path, scrubInterpolated(message, path, data, ctx));
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
      else if (typeof value === 'string' && options) add(iss.path, `unknown ${iss.discriminator} "${value}" (must be one of ${options.join(', ')})`);
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
  add(iss.path, iss.message);
}
