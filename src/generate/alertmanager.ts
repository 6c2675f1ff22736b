/**
 * `alertmanager/alertmanager.yml`: routing by severity to queuescope's relay
 * (shared/spec/alerting.md), with the inhibitions named after the generated
 * alert names.
 */
import { REDIS_CONSEQUENCES } from './alerts.js';
import type { GenerateParams } from './params.js';
import { GENERATED_NOTE } from './prometheus.js';

/** The rendered file. */
export function alertmanagerYml(p: GenerateParams): string {
  const relay = p.relayURL;
  const consequences = REDIS_CONSEQUENCES.map((n) => `${p.alertPrefix}${n}`).join('|');
  return `${GENERATED_NOTE}
# Alertmanager routing for queuescope: notifications go to queuescope's relay,
# which signs, rate-limits and size-limits them for DingTalk and WeCom robots.
# Robot targets (\`ops\`, \`backend\`) are the names under \`notify.dingtalk\` /
# \`notify.wecom\` in queuescope.yaml. \`amtool check-config\` passes.
global:
  resolve_timeout: 5m

route:
  receiver: warning
  # one notification per alert and queue (stream alerts carry queue = stream name)
  group_by: [alertname, queue]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: critical
      repeat_interval: 1h
    # Route a team's queues elsewhere by giving their alerts a \`team\` label, e.g.
    # - matchers: ['team="exam"']
    #   receiver: exam-team
    - matchers: ['severity="warning"']
      receiver: warning

inhibit_rules:
  # Redis unreachable: the queue alerts of the same queuescope instance are consequences, not news.
  - source_matchers: ['alertname="${p.alertPrefix}QueuescopeRedisDown"']
    target_matchers:
      - alertname=~"${consequences}"
    equal: [instance]
  # The critical level of an alert silences its warning level for the same queue.
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, queue]

receivers:
  # critical: the on-call DingTalk group and the team's WeCom group
  - name: critical
    webhook_configs:
      - url: ${relay}/alerts/dingtalk/ops
        send_resolved: true
        # DingTalk text ≤ 20000 bytes: about 15 alerts with the default template (≈ 1.3 KB each, mostly
        # the graph and silence links); beyond that the relay cuts whole alerts and says how many more
        max_alerts: 15
      - url: ${relay}/alerts/wecom/backend
        send_resolved: true
        # WeCom markdown ≤ 4096 bytes: about 3 alerts with the default template
        max_alerts: 3
  # warning: the team's WeCom group only
  - name: warning
    webhook_configs:
      - url: ${relay}/alerts/wecom/backend
        send_resolved: true
        max_alerts: 3
  # With \`auth\` or basic_auth_users (--web.config.file) in queuescope, add to each webhook_config:
  #   http_config:
  #     authorization: { credentials_file: /etc/alertmanager/queuescope-token }
  #     # or basic_auth: { username: alertmanager, password_file: … } and tls_config: { ca_file: … }
`;
}
