import { describe, expect, it } from 'vitest';
import { renderOriginNginxConf } from '../../origin/nginx-config.ts';

describe('nginx origin template', () => {
  it('fills the listen address, root and a case-sensitive exact secret check', () => {
    const conf = renderOriginNginxConf({
      listen: '127.0.0.1:9101',
      root: '/var/lib/origin/',
      originSecret: 'b1946ac92492d2347c6235b4d2611184',
    });
    expect(conf).toContain('listen 127.0.0.1:9101;');
    expect(conf).toContain('root /var/lib/origin;');
    expect(conf).toContain('default 1;\n    "~^b1946ac92492d2347c6235b4d2611184$" 0;');
    expect(conf).not.toMatch(/\{\{\w+\}\}/);
  });

  it('lets everything through when no secret is configured', () => {
    const conf = renderOriginNginxConf({ listen: '9101', root: '/data' });
    expect(conf).toContain('$origin_denied {\n    default 0;\n  }');
  });

  it.each([
    [{ listen: '9101; include /etc/passwd', root: '/data' }, /listen/],
    [{ listen: 'example.com:80', root: '/data' }, /listen/],
    [{ listen: '9101', root: 'relative/dir' }, /root/],
    [{ listen: '9101', root: '/data; }' }, /root/],
    [{ listen: '9101', root: '/data', originSecret: 'short' }, /ORIGIN_SECRET/],
    [{ listen: '9101', root: '/data', originSecret: 'a"b$c'.repeat(5) }, /ORIGIN_SECRET/],
  ])('refuses values that would break or inject into the config: %o', (opts, message) => {
    expect(() => renderOriginNginxConf(opts)).toThrow(message);
  });
});
