/**
 * Renders nginx/origin.conf for one node: listen address, data directory and the X-Origin-Secret check.
 *
 *   ORIGIN_SECRET=… node origin/nginx-config.ts --listen 127.0.0.1:9101 --root /var/lib/origin > origin.conf
 *
 * The secret is read from the environment (never argv, which other users can see).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';

const TEMPLATE = new URL('../nginx/origin.conf', import.meta.url);

export interface NginxOriginOptions {
  /** `port` or `host:port` */
  listen: string;
  /** the origin's DATA_DIR (nginx serves `{root}/live/...`) */
  root: string;
  originSecret?: string | undefined;
}

export function renderOriginNginxConf(opts: NginxOriginOptions): string {
  if (!/^(?:[0-9.]+:|\[[0-9a-fA-F:]+\]:)?\d{1,5}$/.test(opts.listen)) {
    throw new Error('listen must be a port or host:port (an IP address)');
  }
  if (!isAbsolute(opts.root) || /[\s;{}'"$\\]/.test(opts.root)) {
    throw new Error('root must be an absolute path without spaces, quotes or nginx syntax characters');
  }
  let map = '    default 0;';
  if (opts.originSecret !== undefined) {
    // an exact, case-sensitive regex key; limiting the alphabet means nothing needs escaping
    if (!/^[A-Za-z0-9_-]{16,256}$/.test(opts.originSecret)) {
      throw new Error(
        'ORIGIN_SECRET must be 16-256 characters of [A-Za-z0-9_-] (hex or base64url) for nginx',
      );
    }
    map = `    default 1;\n    "~^${opts.originSecret}$" 0;`;
  }
  return readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{listen}}', opts.listen)
    .replaceAll('{{root}}', opts.root.replace(/\/+$/, ''))
    .replace('{{origin_secret_map}}', map);
}

function main(): void {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, root: { type: 'string' } } });
  if (!values.listen || !values.root) {
    console.error(
      'usage: ORIGIN_SECRET=… node origin/nginx-config.ts --listen <[host:]port> --root <DATA_DIR>',
    );
    process.exit(2);
  }
  const secret = process.env.ORIGIN_SECRET?.trim();
  process.stdout.write(
    renderOriginNginxConf({ listen: values.listen, root: values.root, originSecret: secret || undefined }),
  );
}

if (import.meta.main) main();
