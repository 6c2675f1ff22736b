import { describe, expect, it } from 'vitest';
import { dingtalkSign, signDingtalkUrl } from '../../src/relay/robots.js';
import { opensslDingtalkSign } from './fake-robots.js';

describe('DingTalk signing', () => {
  it('matches a vector computed with `openssl dgst -sha256 -hmac`', () => {
    // printf '%s\n%s' 1700000000000 SECtestsecret0123456789 | openssl dgst -sha256 -hmac SECtestsecret0123456789 -binary | base64
    expect(dingtalkSign('SECtestsecret0123456789', 1_700_000_000_000)).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k=');
  });

  it('matches the openssl binary for other secrets and times', () => {
    for (const [secret, ts] of [
      ['SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0', 1_717_171_717_171],
      ['SEC秘密-with-非ASCII', Date.now()],
    ] as const) {
      expect(dingtalkSign(secret, ts)).toBe(opensslDingtalkSign(secret, String(ts)));
    }
  });

  it('adds timestamp and the URL-encoded sign as query parameters, keeping the token', () => {
    const url = signDingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc123', 'SECtestsecret0123456789', 1_700_000_000_000);
    expect(url).toContain('access_token=abc123');
    expect(url).toContain('timestamp=1700000000000');
    // '+' '/' '=' must be percent-encoded, or the robot decodes a different signature
    expect(url).toContain('sign=zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D');
    expect(new URL(url).searchParams.get('sign')).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k=');
  });

  it('leaves the URL alone without a secret', () => {
    expect(signDingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', undefined, 1)).toBe('https://oapi.dingtalk.com/robot/send?access_token=abc');
  });
});
