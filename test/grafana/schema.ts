/** The schema check of the dashboard JSON Grafana provisions / imports (not a test file itself). */
import { z } from 'zod';

const stepSchema = z.strictObject({ color: z.string().min(1), value: z.number().nullable() });
const targetSchema = z.strictObject({
  refId: z.string().regex(/^[A-Z]$/),
  expr: z.string().min(1),
  legendFormat: z.string(),
  instant: z.boolean(),
  range: z.boolean(),
  format: z.enum(['time_series', 'table']),
  datasource: z.strictObject({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }),
});
const gridPos = z.strictObject({ h: z.number().int().positive(), w: z.number().int().min(1).max(24), x: z.number().int().min(0).max(23), y: z.number().int().min(0) });
const panelSchema = z.union([
  z.strictObject({ id: z.number().int(), type: z.literal('row'), title: z.string().min(1), collapsed: z.boolean(), panels: z.array(z.unknown()), gridPos }),
  z.strictObject({
    id: z.number().int(),
    type: z.enum(['timeseries', 'stat', 'bargauge', 'state-timeline', 'table']),
    title: z.string().min(1),
    description: z.string().min(10),
    gridPos,
    datasource: z.strictObject({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }),
    targets: z.array(targetSchema).min(1),
    fieldConfig: z.strictObject({
      defaults: z.looseObject({
        unit: z.string().min(1),
        thresholds: z.strictObject({ mode: z.literal('absolute'), steps: z.array(stepSchema).min(1) }),
        mappings: z.array(z.unknown()),
        color: z.strictObject({ mode: z.string() }),
      }),
      overrides: z.array(z.strictObject({ matcher: z.strictObject({ id: z.string(), options: z.string() }), properties: z.array(z.strictObject({ id: z.string(), value: z.unknown() })) })),
    }),
    options: z.record(z.string(), z.unknown()),
  }),
]);
const variableSchema = z.looseObject({
  type: z.enum(['datasource', 'query', 'textbox']),
  name: z.string().regex(/^[a-z_]+$/),
  label: z.string(),
  query: z.string().min(1),
  refresh: z.number().int(),
});
export const dashboardSchema = z.looseObject({
  // Grafana's Import: the data source it asks for, and what the board needs
  __inputs: z.array(z.strictObject({ name: z.string().regex(/^[A-Z_]+$/), label: z.string(), description: z.string(), type: z.literal('datasource'), pluginId: z.literal('prometheus'), pluginName: z.string() })).length(1),
  __requires: z.array(z.strictObject({ type: z.enum(['grafana', 'datasource', 'panel']), id: z.string().min(1), name: z.string().min(1), version: z.string() })).min(3),
  uid: z.string().regex(/^[a-z0-9-]{1,40}$/),
  title: z.string().min(1),
  tags: z.array(z.string()),
  schemaVersion: z.number().int().min(36),
  time: z.strictObject({ from: z.string(), to: z.string() }),
  refresh: z.string(),
  templating: z.strictObject({ list: z.array(variableSchema) }),
  annotations: z.strictObject({ list: z.array(z.unknown()) }),
  panels: z.array(panelSchema).min(1),
});
