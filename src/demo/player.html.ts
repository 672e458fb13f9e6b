/**
 * The dev-mode demo player (`GET /demo`): hls.js from the project's own node_modules, a jitter buffer of
 * ≥ 3 segments, silent token refresh at ~70 % of the token's life with the newest token put on every request
 * (token-keeper.ts, which is also the README's hls.js snippet), load policies tight
 * enough that an origin failover behind the gateway stays invisible, and a clear message on 403/409.
 * `window.player` exposes counters for the browser tests.
 */
import { TOKEN_KEEPER_JS } from './token-keeper.ts';

export const PLAYER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>edge-gateway demo player</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; }
  video { width: 100%; aspect-ratio: 16 / 9; background: #000; }
  #status { margin: 8px 0; min-height: 1.4em; }
  #status.error { color: #ff8a80; font-weight: 600; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; color: #bbb; }
</style>
</head>
<body>
<main>
  <h1>Live: <span id="channel"></span></h1>
  <video id="video" muted autoplay playsinline controls></video>
  <div id="status">starting…</div>
  <dl>
    <dt>token expires in</dt><dd id="ttl">–</dd>
    <dt>refreshes</dt><dd id="refreshes">0</dd>
    <dt>stalls</dt><dd id="stalls">0</dd>
    <dt>buffer ahead</dt><dd id="buffer">–</dd>
  </dl>
</main>
<script src="/demo/hls.min.js"></script>
<script>
${TOKEN_KEEPER_JS}</script>
<script>
(() => {
  const params = new URLSearchParams(location.search);
  const channel = (params.get('channel') || 'demo').replace(/[^a-z0-9_-]/g, '');
  const sub = params.get('sub') || undefined;
  const video = document.getElementById('video');
  const statusEl = document.getElementById('status');
  document.getElementById('channel').textContent = channel;

  const show = (text, isError) => { statusEl.textContent = text; statusEl.className = isError ? 'error' : ''; };
  const MESSAGES = {
    ip_mismatch: 'This link is bound to another network (Token Leakage Detected - IP Mismatch).',
    session_replaced: 'This account started playing on another device, so playback stopped here.',
    session_limit: 'This account is already streaming on another device.',
    session_revoked: 'Access for this account was revoked.',
    channel_forbidden: 'Your subscription does not include this channel.',
    token_expired: 'Your access expired. Reload to sign in again.',
  };
  const keeper = createTokenKeeper({ onRefused: (code, message) => stop(code || 'refresh_refused', message) });
  const player = (window.player = {
    get token() { return keeper.token; },
    get expiresAt() { return keeper.expiresAt; },
    get refreshes() { return keeper.refreshes; },
    get refreshFailures() { return keeper.failures; },
    stalls: 0, playing: false, httpErrors: [], fatal: null, stopped: null, hls: null,
  });

  function stop(code, message) {
    if (player.stopped) return;
    player.stopped = code;
    keeper.stop();
    if (player.hls) player.hls.destroy();
    show(MESSAGES[code] || message || ('Playback stopped: ' + code), true);
  }

  async function getToken() {
    const res = await fetch('/dev/token', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sub ? { sub, channels: [channel] } : { channels: [channel] }),
    });
    if (!res.ok) throw new Error('dev token: HTTP ' + res.status);
    return res.json();
  }

  async function explain(url) {
    // hls.js does not expose error bodies; ask once more to learn the contract code
    try {
      const u = new URL(url, location.href); u.searchParams.set('token', player.token);
      const res = await fetch(u);
      if (res.status >= 400) { const b = await res.json().catch(() => ({})); if (b.error) stop(b.error, b.message); }
    } catch {}
  }

  function start() {
    const src = '/live/' + channel + '/index.m3u8?token=' + encodeURIComponent(player.token);
    const policy = (ttfb, load, retries) => ({ default: {
      maxTimeToFirstByteMs: ttfb, maxLoadTimeMs: load,
      timeoutRetry: { maxNumRetry: retries, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: retries, retryDelayMs: 250, maxRetryDelayMs: 2000, backoff: 'linear' },
    } });
    const hls = (player.hls = new Hls({
      liveSyncDurationCount: 3,
      liveMaxLatencyDurationCount: 10,
      maxBufferLength: 30,
      backBufferLength: 30,
      lowLatencyMode: false,
      fragLoadPolicy: policy(4000, 15000, 4),
      playlistLoadPolicy: policy(3000, 6000, 4),
      manifestLoadPolicy: policy(3000, 6000, 4),
      keyLoadPolicy: policy(3000, 6000, 4),
      xhrSetup: (xhr, url) => {
        keeper.xhrSetup(xhr, url);
        xhr.addEventListener('loadend', () => {
          const path = new URL(url, location.href).pathname;
          if (xhr.status >= 400) player.httpErrors.push({ status: xhr.status, path });
          if (xhr.status === 403 || xhr.status === 409) explain(url);
        });
      },
    }));
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) { player.fatal = data.details; if (!player.stopped) show('Playback error: ' + data.details, true); }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    video.addEventListener('playing', () => { player.playing = true; if (!player.stopped) show('playing'); });
    video.addEventListener('waiting', () => { if (player.playing) { player.stalls++; } });
    video.play().catch(() => {});
  }

  setInterval(() => {
    document.getElementById('ttl').textContent = player.expiresAt ? Math.max(0, Math.round(player.expiresAt - Date.now() / 1000)) + ' s' : '–';
    document.getElementById('refreshes').textContent = String(player.refreshes);
    document.getElementById('stalls').textContent = String(player.stalls);
    const b = video.buffered; const end = b.length ? b.end(b.length - 1) : 0;
    document.getElementById('buffer').textContent = (end - video.currentTime).toFixed(1) + ' s';
  }, 500);

  getToken().then((t) => {
    keeper.use(t);
    start();
  }).catch((err) => show(String(err), true));
})();
</script>
</body>
</html>
`;
