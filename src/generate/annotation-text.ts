/**
 * One annotation text, two renderings: as a Prometheus alert template
 * (`{{ $labels.queue }}`, `{{ $value | humanize }}`, `query`) for the rule
 * files, and as the concrete text promtool must see for a given test case.
 * Writing every summary and description once against {@link Fmt} is what
 * keeps the shipped promtool tests and the rules from drifting apart, in both
 * languages.
 *
 * Template functions are Prometheus' (https://prometheus.io/docs/prometheus/latest/configuration/template_reference/).
 */

/** How a number is shown: Prometheus' template functions, or `printf "%.2f"`. */
export type ValueFormat = 'humanize' | 'humanizeDuration' | 'humanizePercentage' | 'fixed2';

/** A PromQL lookup made while rendering: `printf <promql> <label args…> | query`, first sample's value. */
export interface LookupSpec {
  /** the test case's variable holding the expected rendered value */
  key: string;
  /** PromQL with `%q` for each label argument */
  promql: string;
  /** label names filling the `%q`s */
  args: string[];
  format: ValueFormat;
  /** text after the value, when there is one */
  suffix?: string;
  /** text when the query returns nothing; '' = nothing */
  orElse?: string;
}

/** What annotation texts are written against. */
export interface Fmt {
  /** a label's value */
  label(name: string): string;
  /** the alert's value */
  value(format: ValueFormat): string;
  /** `body(value)` when the label is non-empty, else nothing */
  withLabel(name: string, body: (v: string) => string): string;
  /** a value looked up by PromQL */
  lookup(spec: LookupSpec): string;
}

const pipe = (format: ValueFormat): string => (format === 'fixed2' ? 'printf "%.2f"' : format);

/** Renders Prometheus template syntax (the rule files). */
export const templateFmt: Fmt = {
  label: (name) => `{{ $labels.${name} }}`,
  value: (format) => `{{ $value | ${pipe(format)} }}`,
  withLabel: (name, body) => `{{ with $labels.${name} }}${body('{{ . }}')}{{ end }}`,
  lookup: (s) => {
    // backquoted raw string: PromQL's own double quotes need no escaping
    const args = s.args.map((a) => ` $labels.${a}`).join('');
    const orElse = s.orElse ? `{{ else }}${s.orElse}` : '';
    return `{{ with printf \`${s.promql}\`${args} | query }}{{ . | first | value | ${pipe(s.format)} }}${s.suffix ?? ''}${orElse}{{ end }}`;
  },
};

/**
 * Renders the concrete text for a test case: labels from the expected alert's
 * labels, `value` and lookups from the case's variables.
 * @throws Error when the case lacks a variable the text needs (a test-authoring bug).
 */
export function concreteFmt(labels: Readonly<Record<string, string>>, vars: Readonly<Record<string, string>>): Fmt {
  const need = (key: string): string => {
    const v = vars[key];
    if (v === undefined) throw new Error(`test case lacks the variable "${key}"`);
    return v;
  };
  return {
    label: (name) => labels[name] ?? '',
    value: () => need('value'),
    withLabel: (name, body) => (labels[name] ? body(labels[name]) : ''),
    lookup: (s) => (vars[s.key] === undefined && s.orElse !== undefined ? s.orElse : `${need(s.key)}${s.suffix ?? ''}`),
  };
}
