/** Probe target parsing and the allow-list: what is refused before any connection is made. */
import { describe, expect, it } from 'vitest';
import { globToRegExp, parseTarget, probeRefusal, ProbeRequestError, targetAllowed, type ProbeModuleScope } from '../../src/probe/target.js';

function refused(raw: string): ProbeRequestError {
  try {
    parseTarget(raw);
  } catch (err) {
    if (err instanceof ProbeRequestError) return err;
    throw err;
  }
  throw new Error(`${raw} was accepted`);
}

describe('parseTarget', () => {
  it('normalises redis URLs and bare host:port', () => {
    expect(parseTarget('redis://10.0.0.5:6380/2')).toEqual({ url: 'redis://10.0.0.5:6380/2', hostPort: '10.0.0.5:6380', db: 2 });
    expect(parseTarget('redis://Cache.Example.COM')).toEqual({ url: 'redis://cache.example.com:6379/0', hostPort: 'cache.example.com:6379', db: 0 });
    expect(parseTarget('rediss://r1:6390/')).toMatchObject({ url: 'rediss://r1:6390/0' });
    expect(parseTarget('10.1.2.3:7000')).toMatchObject({ url: 'redis://10.1.2.3:7000/0', hostPort: '10.1.2.3:7000' });
    expect(parseTarget('redis://[::1]:6379/1')).toMatchObject({ url: 'redis://[::1]:6379/1', hostPort: '[::1]:6379' });
  });

  it('refuses credentials in the URL without echoing them', () => {
    for (const raw of ['redis://user:s3cret-pw@host:6379/0', 'redis://:s3cret-pw@host:6379', 'redis://s3cret-pw@host', 'user:s3cret-pw@host:6379']) {
      const err = refused(raw);
      expect(err.statusCode).toBe(400);
      expect(err.message).toMatch(/credentials/);
      expect(err.message).not.toContain('s3cret-pw');
    }
  });

  it('refuses query strings (ioredis would read ?password=), other schemes, bad ports and paths', () => {
    expect(refused('redis://host:6379/0?password=x').message).toMatch(/query/);
    expect(refused('redis://host:6379/0#x').statusCode).toBe(400);
    expect(refused('http://host:6379/0').message).toMatch(/scheme/);
    expect(refused('redis://host:0/0').message).toMatch(/port/);
    expect(refused('redis://host:6379/abc').message).toMatch(/database number/);
    expect(refused('redis://host:6379/0/1').statusCode).toBe(400);
    expect(refused('').statusCode).toBe(400);
    expect(refused('redis://:6379/0').statusCode).toBe(400);
  });
});

describe('allowTargets', () => {
  const t = (raw: string) => parseTarget(raw);
  it('admits nothing when empty (issue 10 #3: default deny)', () => {
    expect(targetAllowed(t('redis://anything:1/0'), [])).toBe(false);
    expect(probeRefusal(t('redis://169.254.169.254:80/0'), [], 'exam', mod())).toMatch(/probing is off.*probe\.allowTargets/);
  });
  it('matches host:port globs, case-insensitively, anchored', () => {
    const allow = ['10.0.*.*:6379', 'redis-?.prod.internal:*'];
    expect(targetAllowed(t('redis://10.0.3.4:6379/0'), allow)).toBe(true);
    expect(targetAllowed(t('redis://10.0.3.4:6380/0'), allow)).toBe(false);
    expect(targetAllowed(t('redis://REDIS-a.prod.internal:7000/0'), allow)).toBe(true);
    expect(targetAllowed(t('redis://redis-ab.prod.internal:7000/0'), allow)).toBe(false);
    expect(targetAllowed(t('redis://evil.10.0.3.4:6379/0'), allow)).toBe(false);
    // dots are literal
    expect(globToRegExp('10.0.0.1:6379').test('10x0x0x1:6379')).toBe(false);
  });
  it('never lets * or ? cross a dot or a colon (issue 10 #3)', () => {
    expect(targetAllowed(t('redis://10.0.0.1.evil.example:6379/0'), ['10.0.0.*:6379'])).toBe(false);
    expect(targetAllowed(t('redis://10.0.0.1.evil.example:6379/0'), ['10.0.0.*:*'])).toBe(false);
    expect(targetAllowed(t('redis://10.0.0.7:6379/0'), ['10.0.0.*:6379'])).toBe(true);
    expect(targetAllowed(t('redis://cache.evil.example:6379/0'), ['cache*:6379'])).toBe(false);
    expect(targetAllowed(t('redis://[::1]:22/0'), ['*:*'])).toBe(false);
    expect(targetAllowed(t('redis://a.b:6379/0'), ['a?b:6379'])).toBe(false);
    expect(globToRegExp('h:*').test('h:1:2')).toBe(false);
  });
  it("sends a module's credentials only to targets that module lists", () => {
    const global = ['10.0.*.*:6379'];
    const target = t('redis://10.0.9.9:6379/0');
    expect(probeRefusal(target, global, 'open', mod())).toBeUndefined();
    expect(probeRefusal(target, global, 'prod', mod({ password: 'pw' }))).toMatch(/module "prod" carries credentials.*modules\.prod\.allowTargets/);
    expect(probeRefusal(target, global, 'acl', mod({ username: 'reader' }))).toMatch(/carries credentials/);
    expect(probeRefusal(target, global, 'prod', mod({ password: 'pw', allowTargets: ['10.0.1.*:6379'] }))).toMatch(/not in modules\.prod\.allowTargets/);
    expect(probeRefusal(t('redis://10.0.1.5:6379/0'), global, 'prod', mod({ password: 'pw', allowTargets: ['10.0.1.*:6379'] }))).toBeUndefined();
    // the module's list narrows the global one, never widens it
    expect(probeRefusal(t('redis://10.9.1.5:6379/0'), global, 'prod', mod({ password: 'pw', allowTargets: ['10.9.1.*:6379'] }))).toMatch(/not in probe\.allowTargets/);
    for (const reason of [probeRefusal(target, global, 'prod', mod({ password: 'pw' }))]) expect(reason).not.toContain('pw"');
  });
});

function mod(o: { password?: string; username?: string; allowTargets?: string[] } = {}): ProbeModuleScope {
  return { allowTargets: o.allowTargets ?? [], redis: { username: o.username ?? '', ...(o.password ? { password: o.password } : {}), tls: { cert: '', key: '' } } };
}
