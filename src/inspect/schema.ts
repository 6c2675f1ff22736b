/**
 * The inspector API's response shapes as zod schemas: the routes check every
 * answer against them before sending (a shape drift is a 500 in tests, not
 * a silent change for scripts) and hand Fastify their JSON Schema
 * (`z.toJSONSchema`, draft-07) to serialise with.
 */
import { z } from 'zod';
import { NOTES, TASK_STATES, type NoteKey } from './types.js';

const num = z.number().nullable();
const text = z.string().nullable();

export const taskStateSchema = z.enum([...TASK_STATES, 'completed']);

export const taskSchema = z.strictObject({
  id: z.string(),
  state: taskStateSchema,
  ref: text,
  name: text,
  enqueuedAt: num,
  ageSeconds: num,
  attempts: num,
  error: text,
  failedAt: num,
  dueAt: num,
  consumer: text,
  group: text,
  idleSeconds: num,
  deliveries: num,
  payload: text,
  payloadBytes: num,
  payloadTruncated: z.boolean(),
});

export const sectionSchema = z.strictObject({
  state: z.enum(TASK_STATES),
  total: num,
  note: text,
  noteKey: z.enum(Object.keys(NOTES) as [NoteKey, ...NoteKey[]]).nullable(),
  noteValue: num,
  tasks: z.array(taskSchema),
});

export const queueTasksSchema = z.strictObject({
  queue: z.string(),
  framework: z.string(),
  generatedAt: z.string(),
  limit: z.number().int(),
  payloads: z.enum(['show', 'hide']),
  redisUp: z.boolean(),
  error: text,
  states: z.array(z.enum(TASK_STATES)),
  sections: z.array(sectionSchema),
  problems: z.array(z.string()),
});

export const taskLookupSchema = z.strictObject({
  queue: z.string(),
  framework: z.string(),
  generatedAt: z.string(),
  redisUp: z.boolean(),
  error: text,
  tasks: z.array(taskSchema),
  problems: z.array(z.string()),
});

export const errorSchema = z.strictObject({
  error: z.string(),
  frameworks: z.array(z.string()).optional(),
});

/** JSON Schema (draft-07, no `$schema` key) of a zod schema, for Fastify's serialiser. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
