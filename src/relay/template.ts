/**
 * A small logic-less template language for robot messages: a subset of
 * Mustache (https://mustache.github.io/mustache.5.html) without HTML escaping
 * (the output is markdown), without partials, lambdas or delimiter changes.
 *
 * - `{{name}}`, `{{a.b}}`, `{{.}}`: a value (strings and numbers print as is;
 *   `null`/`undefined` print nothing);
 * - `{{#name}}…{{/name}}`: a section — repeated for each element of a
 *   non-empty list, rendered once for any other truthy value (objects become
 *   the lookup context), skipped for `false`, `0`, `''`, `null`, `[]`;
 * - `{{^name}}…{{/name}}`: rendered when `name` is falsy or an empty list;
 * - `{{! comment }}`.
 *
 * As in Mustache, a section, inverted-section, closing or comment tag alone on
 * its line removes that whole line from the output.
 *
 * Stricter than Mustache: a name whose first segment is not found in any
 * context is an error (so a typo shows up as a logged fallback instead of a
 * silently empty field), and printing an object or a list is an error.
 */

/** A template that failed to compile or render; the message says where and why. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string; line: number }
  | { kind: 'section'; name: string; inverted: boolean; children: Node[]; line: number };

/** A compiled template; compile once, render many times. */
export interface CompiledTemplate {
  /**
   * Renders against `view`.
   * @throws TemplateError on an unknown name or an unprintable value.
   */
  render(view: Record<string, unknown>): string;
}

const TAG = /\{\{\s*([#^/!]?)\s*([^}]*?)\s*\}\}/g;

/**
 * Compiles template text.
 * @throws TemplateError on an unclosed or mismatched section, an empty name, or `{{` without `}}`.
 */
export function compileTemplate(source: string): CompiledTemplate {
  const root: Node[] = [];
  const stack: { node: Extract<Node, { kind: 'section' }>; children: Node[] }[] = [];
  const current = (): Node[] => stack[stack.length - 1]?.node.children ?? root;

  let pos = 0;
  for (const m of source.matchAll(TAG)) {
    const start = m.index;
    let end = start + m[0].length;
    const sigil = m[1] ?? '';
    const name = (m[2] ?? '').trim();
    const line = source.slice(0, start).split('\n').length;
    let textBefore = source.slice(pos, start);

    // standalone line: only whitespace around a non-variable tag on its line
    if (sigil !== '') {
      const lineStart = source.lastIndexOf('\n', start - 1) + 1;
      const nl = source.indexOf('\n', end);
      const lineEnd = nl === -1 ? source.length : nl;
      if (lineStart >= pos && /^[ \t]*$/.test(source.slice(lineStart, start)) && /^[ \t\r]*$/.test(source.slice(end, lineEnd))) {
        textBefore = source.slice(pos, lineStart);
        end = nl === -1 ? source.length : nl + 1;
      }
    }
    if (textBefore) current().push({ kind: 'text', text: textBefore });
    pos = end;

    if (sigil === '!') continue;
    if (!name) throw new TemplateError(`line ${line}: empty tag name`);
    if (sigil === '#' || sigil === '^') {
      const node: Extract<Node, { kind: 'section' }> = { kind: 'section', name, inverted: sigil === '^', children: [], line };
      current().push(node);
      stack.push({ node, children: node.children });
    } else if (sigil === '/') {
      const open = stack.pop();
      if (!open) throw new TemplateError(`line ${line}: {{/${name}}} closes nothing`);
      if (open.node.name !== name) throw new TemplateError(`line ${line}: {{/${name}}} closes {{#${open.node.name}}} opened on line ${open.node.line}`);
    } else {
      current().push({ kind: 'var', name, line });
    }
  }
  const rest = source.slice(pos);
  if (rest.includes('{{')) throw new TemplateError(`line ${source.slice(0, pos).split('\n').length}: "{{" without a closing "}}"`);
  if (rest) current().push({ kind: 'text', text: rest });
  const unclosed = stack.pop();
  if (unclosed) throw new TemplateError(`line ${unclosed.node.line}: {{#${unclosed.node.name}}} is never closed`);

  return {
    render(view) {
      const out: string[] = [];
      renderNodes(root, [view], out);
      return out.join('');
    },
  };
}

function lookup(name: string, contexts: unknown[], line: number): unknown {
  if (name === '.') return contexts[contexts.length - 1];
  const [head, ...rest] = name.split('.');
  for (let i = contexts.length - 1; i >= 0; i--) {
    const ctx = contexts[i];
    if (ctx !== null && typeof ctx === 'object' && Object.prototype.hasOwnProperty.call(ctx, head!)) {
      let value: unknown = (ctx as Record<string, unknown>)[head!];
      for (const part of rest) {
        value = value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, part)
          ? (value as Record<string, unknown>)[part]
          : undefined;
      }
      return value;
    }
  }
  throw new TemplateError(`line ${line}: unknown name "${head}"`);
}

function renderNodes(nodes: Node[], contexts: unknown[], out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') {
      out.push(node.text);
    } else if (node.kind === 'var') {
      const value = lookup(node.name, contexts, node.line);
      if (value === null || value === undefined) continue;
      if (typeof value === 'string') out.push(value);
      else if (typeof value === 'number' || typeof value === 'boolean') out.push(String(value));
      else throw new TemplateError(`line ${node.line}: "${node.name}" is a ${Array.isArray(value) ? 'list' : 'map'}, not printable (use a section)`);
    } else {
      const value = lookup(node.name, contexts, node.line);
      const truthy = Array.isArray(value) ? value.length > 0 : Boolean(value);
      if (node.inverted) {
        if (!truthy) renderNodes(node.children, contexts, out);
      } else if (Array.isArray(value)) {
        for (const item of value) renderNodes(node.children, [...contexts, item], out);
      } else if (truthy) {
        renderNodes(node.children, [...contexts, value], out);
      }
    }
  }
}
