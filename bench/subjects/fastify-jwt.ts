/**
 * Peer: what a team would write instead of the gateway — Fastify with fast-jwt and its verify cache,
 * doing the same player checks: ES256 signature with iss/aud/required claims, the token bound to the
 * client address, the channel in `ch`. Objects come from memory, as from the gateway's cache. It has no
 * session limit, no metrics and no logging per request, so it is a lower bound on a peer's cost.
 *
 *   PORT=… DATA_DIR=… JWT_PUBLIC_JWK=… JWT_ISSUER=… JWT_AUDIENCE=… node bench/subjects/fastify-jwt.ts
 */
import { createPublicKey } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import Fastify from 'fastify';
import { loadObjects } from '../lib/data.ts';

interface Claims {
  ip?: unknown;
  ch?: unknown;
}

const objects = await loadObjects(requiredEnv('DATA_DIR'));
const publicKey = createPublicKey({ key: JSON.parse(requiredEnv('JWT_PUBLIC_JWK')), format: 'jwk' })
  .export({ type: 'spki', format: 'pem' })
  .toString();
const verify = createVerifier({
  key: publicKey,
  algorithms: ['ES256'],
  allowedIss: requiredEnv('JWT_ISSUER'),
  allowedAud: requiredEnv('JWT_AUDIENCE'),
  requiredClaims: ['sub', 'sid', 'ip', 'ch', 'iat', 'exp', 'jti'],
  clockTolerance: 30,
  cache: 100_000,
});

const app = Fastify({ logger: false });
app.get('/healthz', async () => 'ok');
app.get<{ Params: { channel: string; name: string }; Querystring: { token?: string } }>(
  '/live/:channel/:name',
  async (req, reply) => {
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : req.query.token;
    if (!token) return reply.code(401).send({ error: 'token_missing' });
    let claims: Claims;
    try {
      claims = verify(token) as Claims;
    } catch {
      return reply.code(401).send({ error: 'token_invalid' });
    }
    const client = req.ip.startsWith('::ffff:') ? req.ip.slice(7) : req.ip;
    if (claims.ip !== client) return reply.code(403).send({ error: 'ip_mismatch' });
    const ch = claims.ch;
    if (ch !== '*' && !(Array.isArray(ch) && ch.includes(req.params.channel)))
      return reply.code(403).send({ error: 'channel_forbidden' });
    const bytes = objects.get(`/live/${req.params.channel}/${req.params.name}`);
    if (!bytes) return reply.code(404).send({ error: 'not_found' });
    return reply.header('content-type', 'video/mp2t').send(bytes);
  },
);

await app.listen({ port: Number(requiredEnv('PORT')), host: '127.0.0.1' });
// exit through Node (not the default signal death) so a --cpu-prof profile gets written
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}
