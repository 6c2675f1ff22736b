import { describe, expect, it } from 'vitest';
import { compileTemplate, TemplateError } from '../../src/relay/template.js';

describe('template language', () => {
  it('prints values, dotted names and numbers without escaping', () => {
    const t = compileTemplate('{{a}} <{{b.c}}> {{n}} {{missing.x}}|');
    expect(t.render({ a: '**粗体** & <x>', b: { c: 'deep' }, n: 0, missing: {} })).toBe('**粗体** & <x> <deep> 0 |');
  });

  it('repeats sections over lists, looks names up through the context stack, and skips empty ones', () => {
    const t = compileTemplate('{{#items}}[{{name}}@{{host}}]{{/items}}{{^items}}none{{/items}}');
    expect(t.render({ host: 'h', items: [{ name: 'a' }, { name: 'b', host: 'own' }] })).toBe('[a@h][b@own]');
    expect(t.render({ host: 'h', items: [] })).toBe('none');
  });

  it('treats 0, "" and false as falsy and renders scalar sections once', () => {
    const t = compileTemplate('{{#n}}n={{n}}{{/n}}{{^n}}zero{{/n}}');
    expect(t.render({ n: 3 })).toBe('n=3');
    expect(t.render({ n: 0 })).toBe('zero');
  });

  it('drops lines that hold only a section tag or a comment', () => {
    const t = compileTemplate('a\n{{! note }}\n{{#x}}\n  line {{x}}\n{{/x}}\nb\n');
    expect(t.render({ x: 'y' })).toBe('a\n  line y\nb\n');
    expect(t.render({ x: '' })).toBe('a\nb\n');
  });

  it('refuses broken templates with the line', () => {
    expect(() => compileTemplate('{{#a}}\n{{/b}}')).toThrow(/line 2: \{\{\/b\}\} closes \{\{#a\}\}/);
    expect(() => compileTemplate('x\n{{#a}}')).toThrow(/line 2: \{\{#a\}\} is never closed/);
    expect(() => compileTemplate('{{/a}}')).toThrow(TemplateError);
    expect(() => compileTemplate('{{a')).toThrow(/without a closing/);
  });

  it('fails to render unknown names and unprintable values', () => {
    expect(() => compileTemplate('{{tilte}}').render({ title: 'x' })).toThrow(/unknown name "tilte"/);
    expect(() => compileTemplate('{{labels}}').render({ labels: { a: 'b' } })).toThrow(/not printable/);
  });

  it('does not reach into prototypes', () => {
    expect(() => compileTemplate('{{constructor}}').render({})).toThrow(/unknown name/);
  });
});
