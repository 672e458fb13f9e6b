/**
 * Real nginx (Debian) for the bench, as child processes in their own prefix directories:
 * - the origin, rendered from the project's nginx/origin.conf (what an origin node deploys);
 * - the peers a user would compare the gateway with, in one bench-owned config: static `sendfile`,
 *   `secure_link` with the client address in the hash, and `proxy_pass` to the origin.
 * Both run one worker, like the one Node process of each Node subject, on the same two cores.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderOriginNginxConf } from '../../origin/nginx-config.ts';
import { freePort, waitFor } from '../../test/helpers/net.ts';
import { type Proc, start } from '../../test/helpers/process.ts';

export interface Nginx {
  proc: Proc;
  stop(): Promise<void>;
}

async function runNginx(name: string, render: (prefix: string) => string, readyUrl: string): Promise<Nginx> {
  const prefix = await mkdtemp(join(tmpdir(), `bench-nginx-${name}-`));
  const conf = join(prefix, 'nginx.conf');
  await writeFile(conf, render(prefix));
  const proc = start('nginx', ['-e', 'stderr', '-p', prefix, '-c', conf, '-g', 'daemon off;']);
  const stop = async () => {
    await proc.stop();
    await rm(prefix, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`nginx ${name} exited: ${proc.output().slice(-800)}`);
        return (await fetch(readyUrl)).status > 0;
      },
      { timeoutMs: 20_000, what: `nginx ${name}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, stop };
}

export interface OriginNginx extends Nginx {
  url: string;
}

export async function startOriginNginx(root: string, originSecret: string): Promise<OriginNginx> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const nginx = await runNginx(
    'origin',
    () => renderOriginNginxConf({ listen: `127.0.0.1:${port}`, root, originSecret }),
    `${url}/`,
  );
  return { ...nginx, url };
}

export interface PeerNginx extends Nginx {
  staticUrl: string;
  secureLinkUrl: string;
  proxyUrl: string;
  /** `?md5=…&expires=…` for `path`, bound to the client address as nginx computes it */
  secureLinkQuery(path: string, clientAddress: string, expires: number): string;
}

export async function startPeerNginx(o: {
  root: string;
  origin: string;
  originSecret: string;
}): Promise<PeerNginx> {
  const [staticPort, linkPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
  const linkSecret = `bench-${crypto.randomUUID()}`;
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const render = (prefix: string) => `
${user}
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  default_type video/mp2t;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  open_file_cache max=1000 inactive=60s;

  upstream origin {
    server ${new URL(o.origin).host};
    keepalive 64;
  }

  server {
    listen 127.0.0.1:${staticPort};
    root ${o.root};
    location /live/ { }
  }

  server {
    listen 127.0.0.1:${linkPort};
    root ${o.root};
    location /live/ {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri$remote_addr ${linkSecret}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
    }
  }

  server {
    listen 127.0.0.1:${proxyPort};
    location /live/ {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Origin-Secret "${o.originSecret}";
      proxy_buffers 16 64k;
      proxy_busy_buffers_size 128k;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
  const staticUrl = `http://127.0.0.1:${staticPort}`;
  const nginx = await runNginx('peers', render, `${staticUrl}/`);
  return {
    ...nginx,
    staticUrl,
    secureLinkUrl: `http://127.0.0.1:${linkPort}`,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    secureLinkQuery: (path, clientAddress, expires) => {
      const md5 = createHash('md5')
        .update(`${expires}${path}${clientAddress} ${linkSecret}`)
        .digest('base64url');
      return `?md5=${md5}&expires=${expires}`;
    },
  };
}
