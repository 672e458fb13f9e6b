import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface TestKey {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function makeKey(alg: 'ES256' | 'EdDSA', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  return { kid, alg, privateKey, privateJwk, publicJwk };
}
