/**
 * The Alertmanager webhook receivers: `POST /alerts/dingtalk/:target` and
 * `POST /alerts/wecom/:target` (shared/spec/alerting.md).
 *
 * Answers:
 * - 200 `{status:"sent"}` — delivered to the robot;
 * - 200 `{status:"deduplicated"}` — the same notification was accepted
 *   already (by this or another replica: the Alertmanager HA fan-out);
 * - 202 `{status:"queued"}` — stored durably (synced to disk, or acknowledged
 *   by the shared Redis) but not yet delivered after the hold time (rate
 *   limit, robot down, another replica sends for this robot, shutdown);
 *   delivered later, also after a restart;
 * - 400 `{error}` — not an Alertmanager v4 payload (the reason names the field);
 * - 404 `{error}` — no such configured target;
 * - 408 — the body did not arrive within {@link RELAY_BODY_TIMEOUT_MS} (a
 *   half-sent body must not hold a connection and memory);
 * - 413 — body over 4 MiB;
 * - 422 `{error}` — the robot refused it permanently (errcode, e.g. 310000);
 *   not retried by Alertmanager (4xx);
 * - 503 `{error}` — not accepted (the store holds `notify.store.maxBytes`, the
 *   store is unreachable, shutting down): Alertmanager retries 5xx, so nothing is lost.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { NotAcceptedError, type OutboxTuning } from './outbox.js';
import { parseWebhookPayload } from './payload.js';
import { Relay, type RelayNotifyConfig } from './relay.js';
import type { ChannelName } from './robots.js';

/** Largest accepted webhook body, bytes. Alertmanager with `max_alerts` sends far less. */
export const RELAY_BODY_LIMIT = 4 * 1024 * 1024;
/** How long a webhook request may take to deliver its body, ms. Alertmanager sends a few KB at once. */
export const RELAY_BODY_TIMEOUT_MS = 10_000;

/** Options of {@link relayPlugin}. */
export interface RelayPluginOptions {
  notify: RelayNotifyConfig;
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
      accepted = await outbox.accept(parsed.payload);
    } catch (err) {
      if (err instanceof NotAcceptedError) {
        log.warn({ channel, target, reason: err.message }, 'notification not accepted; Alertmanager will retry');
        return reply.code(503).header('retry-after', '10').send({ error: `not accepted: ${err.message}` });
      }
      throw err;
    }
    if (accepted.kind === 'deduplicated') return reply.code(200).send({ status: 'deduplicated' });
    const outcome = await accepted.wait(relay.tuning.holdMs);
    switch (outcome.kind) {
      case 'sent':
        return reply.code(200).send({ status: 'sent' });
      case 'queued':
        return reply.code(202).send({ status: 'queued' });
      case 'failed':
        return reply.code(422).send({ error: outcome.reason });
    }
  };

  // A body that stalls half-way is cut off: answer 408 and close the connection (Node's own requestTimeout is minutes).
  const bodyTimeout = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const timer = setTimeout(() => {
      if (req.raw.complete) return;
      log.warn({ url: req.url.split('?')[0] }, 'webhook body not received in time; closing the connection');
      if (!reply.raw.headersSent) reply.raw.writeHead(408, { connection: 'close', 'content-type': 'application/json' }).end('{"error":"request body not received in time"}');
      req.raw.socket?.destroy();
    }, RELAY_BODY_TIMEOUT_MS);
    timer.unref();
    (req as FastifyRequest & { qsBodyTimer?: NodeJS.Timeout }).qsBodyTimer = timer;
  };
  const bodyArrived = async (req: FastifyRequest): Promise<void> => {
    clearTimeout((req as FastifyRequest & { qsBodyTimer?: NodeJS.Timeout }).qsBodyTimer);
  };
  const routeOpts = { bodyLimit: RELAY_BODY_LIMIT, onRequest: bodyTimeout, preValidation: bodyArrived, onResponse: bodyArrived };
  app.post<{ Params: { target: string } }>('/alerts/dingtalk/:target', routeOpts, handler('dingtalk'));
  app.post<{ Params: { target: string } }>('/alerts/wecom/:target', routeOpts, handler('wecom'));
  app.addHook('preClose', async () => {
    await relay.close();
  });
  app.addHook('onClose', async () => {
    await relay.close();
  });
};

export { Relay } from './relay.js';
