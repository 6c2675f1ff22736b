/**
 * The monitor API and status page. Placeholder until the monitor lands: a
 * plain landing page that links to /metrics.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';

export const monitorPlugin: FastifyPluginAsync<{ config: Config }> = async (app) => {
  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send('<!doctype html><html><head><meta charset="utf-8"><title>queuescope</title></head><body><h1>queuescope</h1><p><a href="/metrics">/metrics</a></p></body></html>'),
  );
};
