/**
 * The Alertmanager webhook receivers: `POST /alerts/dingtalk/:target` and
 * `POST /alerts/wecom/:target` (shared/spec/alerting.md).
 *
 * Answers:
 * - 200 `{status:"sent"}` — delivered to the robot;
 * - 202 `{status:"queued"}` — still waiting for the robot's rate limit after
 *   the hold time; the relay owns it now and will deliver it;
 * - 400 `{error}` — not an Alertmanager v4 payload (the reason names the field);
 * - 404 `{error}` — no such configured target;
 * - 413 — body over 4 MiB;
 * - 422 `{error}` — the robot refused it permanently (errcode, e.g. 310000);
 *   not retried by Alertmanager (4xx);
 * - 503 `{error}` — not accepted (queue full, shutting down, handed back at
 *   shutdown): Alertmanager retries 5xx, so nothing is lost.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { NotifyConfig } from '../config/schema.js';
import { NotAcceptedError, type OutboxTuning } from './outbox.js';
import { parseWebhookPayload } from './payload.js';
import { Relay } from './relay.js';
import type { ChannelName } from './robots.js';

/** Largest accepted webhook body, bytes. Alertmanager with `max_alerts` sends far less. */
export const RELAY_BODY_LIMIT = 4 * 1024 * 1024;

/** Options of {@link relayPlugin}. */
export interface RelayPluginOptions {
  notify: NotifyConfig;
  registry: Registry;
  /** a relay made by the caller (to call `reconfigure()` on reload); otherwise the plugin makes one */
  relay?: Relay;
  /** timing knobs in ms (tests shorten them); ignored when `relay` is given */
  tuning?: Partial<OutboxTuning>;
  /** shutdown delivery budget in ms (default 5000); ignored when `relay` is given */
  shutdownMs?: number;
}

/**
 * Registers the two webhook routes and a shutdown hook (`preClose`, so
 * waiting requests are answered before the server stops) that hands back
 * unanswered notifications and flushes acknowledged ones, bounded in time.
 * Metrics go into `registry`.
 */
export const relayPlugin: FastifyPluginAsync<RelayPluginOptions> = async (app, opts) => {
  const log = app.log.child({ module: 'relay' });
  const relay =
    opts.relay ??
    new Relay({
      notify: opts.notify,
      registry: opts.registry,
      log,
      ...(opts.tuning ? { tuning: opts.tuning } : {}),
      ...(opts.shutdownMs !== undefined ? { shutdownMs: opts.shutdownMs } : {}),
    });

  const handler = (channel: ChannelName) => async (req: FastifyRequest<{ Params: { target: string } }>, reply: FastifyReply) => {
    const target = req.params.target;
    const outbox = relay.outbox(channel, target);
    if (!outbox) return reply.code(404).send({ error: `no ${channel} target named "${target.slice(0, 64)}" is configured` });
    const parsed = parseWebhookPayload(req.body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
    let accepted;
    try {
      accepted = outbox.enqueue(parsed.payload);
    } catch (err) {
      if (err instanceof NotAcceptedError) {
        log.warn({ channel, target, reason: err.message }, 'notification not accepted; Alertmanager will retry');
        return reply.code(503).header('retry-after', '10').send({ error: `not accepted: ${err.message}` });
      }
      throw err;
    }
    const outcome = await accepted.wait(relay.tuning.holdMs);
    switch (outcome.kind) {
      case 'sent':
        return reply.code(200).send({ status: 'sent' });
      case 'queued':
        return reply.code(202).send({ status: 'queued' });
      case 'failed':
        return reply.code(422).send({ error: outcome.reason });
      case 'handed-back':
        return reply.code(503).send({ error: 'shutting down; not delivered, retry later' });
    }
  };

  app.post('/alerts/dingtalk/:target', { bodyLimit: RELAY_BODY_LIMIT }, handler('dingtalk'));
  app.post('/alerts/wecom/:target', { bodyLimit: RELAY_BODY_LIMIT }, handler('wecom'));
  app.addHook('preClose', async () => {
    await relay.close();
  });
  app.addHook('onClose', async () => {
    await relay.close();
  });
};

export { Relay } from './relay.js';
