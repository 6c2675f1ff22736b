/** Probe target parsing and the allow-list: what is refused before any connection is made. */
import { describe, expect, it } from 'vitest';
import { globToRegExp, parseTarget, ProbeRequestError, targetAllowed } from '../../src/probe/target.js';

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
  it('allows anything when empty', () => {
    expect(targetAllowed(t('redis://anything:1/0'), [])).toBe(true);
  });
  it('matches host:port globs, case-insensitively, anchored', () => {
    const allow = ['10.0.*:6379', 'redis-?.prod.internal:*'];
    expect(targetAllowed(t('redis://10.0.3.4:6379/0'), allow)).toBe(true);
    expect(targetAllowed(t('redis://10.0.3.4:6380/0'), allow)).toBe(false);
    expect(targetAllowed(t('redis://REDIS-a.prod.internal:7000/0'), allow)).toBe(true);
    expect(targetAllowed(t('redis://redis-ab.prod.internal:7000/0'), allow)).toBe(false);
    expect(targetAllowed(t('redis://evil.10.0.3.4:6379/0'), allow)).toBe(false);
    // dots are literal
    expect(globToRegExp('10.0.0.1:6379').test('10x0x0x1:6379')).toBe(false);
  });
});
