/**
 * The player side of silent token refresh, as browser JavaScript: the demo page runs exactly this text, and
 * the README's hls.js snippet is this text (a test keeps the two identical), so the published snippet is the
 * code the browser end-to-end test proves.
 */
export const TOKEN_KEEPER_JS = `// Keeps a short-lived playback token fresh and puts the newest one on every hls.js request.
// hls.js reloads a live playlist with the URL it first loaded, so the token is swapped in xhrSetup.
function createTokenKeeper({ refreshUrl = '/v1/tokens/refresh', onRefused, onRefreshed }) {
  const keeper = { token: null, expiresAt: 0, refreshes: 0, failures: 0 };
  let timer;
  let backoffMs = 1000;
  const schedule = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  };

  // use a token ({ token, expires_at, expires_in }) from the next request on; refresh at ~70 % of its life
  keeper.use = (t) => {
    keeper.token = t.token;
    keeper.expiresAt = t.expires_at;
    backoffMs = 1000;
    schedule(Math.max(1000, t.expires_in * 1000 * 0.7 * (0.9 + Math.random() * 0.2)));
  };

  async function refresh() {
    const res = await fetch(refreshUrl, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + keeper.token },
    }).catch(() => null);
    const body = res ? await res.json().catch(() => ({})) : {};
    if (res && res.ok && body.token) {
      keeper.refreshes++;
      keeper.use(body);
      if (onRefreshed) onRefreshed(keeper);
      return;
    }
    // refused for good (expired past the grace, other network, session replaced or revoked): stop
    if (res && [401, 403, 409].includes(res.status)) return onRefused(body.error, body.message);
    // network error, 429 or 5xx: retry with capped exponential backoff, or when the server says
    keeper.failures++;
    backoffMs = Math.min(backoffMs * 2, 30000);
    const retryAfterMs = Number(res && res.headers.get('retry-after')) * 1000;
    schedule(retryAfterMs > 0 ? retryAfterMs : backoffMs);
  }

  keeper.xhrSetup = (xhr, url) => {
    const u = new URL(url, location.href); // hls.js may pass a relative URL
    if (u.origin === location.origin) u.searchParams.set('token', keeper.token);
    xhr.open('GET', u.toString(), true);
  };
  keeper.stop = () => clearTimeout(timer);
  return keeper;
}
`;
