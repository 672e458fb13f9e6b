/**
 * The conformance suite against the Worker on real workerd (`wrangler dev --local`, the repository's
 * wrangler.toml; vars and secrets from a temporary env file, like .dev.vars).
 *
 * The client address is expressed the way Cloudflare expresses it, CF-Connecting-IP, which wrangler's local
 * server fills in from the socket peer: requests sent from 127.0.0.2 arrive with CF-Connecting-IP
 * 127.0.0.2, with no header written by the test. What workerd cannot express locally is Cloudflare's edge
 * removing a client's own CF-Connecting-IP (locally, a client-sent copy is passed through), so the
 * "forged address header" case is covered on Node and nginx only.
 */
import { conformanceSuite } from '../helpers/conformance.ts';
import { startWorkerd } from '../helpers/workerd.ts';

conformanceSuite('Worker on workerd', async (base) => {
  const worker = await startWorkerd({ env: base.env });
  return { baseUrl: worker.url, close: () => worker.stop() };
});
