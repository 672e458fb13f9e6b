/**
 * The conformance suite against nginx edge mode: real nginx (nginx/edge.conf rendered on ephemeral ports)
 * in front of the two origins, asking the Node gateway through auth_request. nginx connects to the gateway
 * from 127.0.0.1, the one trusted proxy; players connect to nginx from 127.0.0.2.
 */
import { startNodeGateway } from '../../src/node.ts';
import { conformanceSuite } from '../helpers/conformance.ts';
import { startEdgeNginx } from '../helpers/nginx.ts';

conformanceSuite('nginx edge + Node gateway', async (base) => {
  const gw = await startNodeGateway({
    ...base.env,
    PORT: '0',
    HOST: '127.0.0.1',
    TRUSTED_PROXIES: '127.0.0.1/32',
  });
  const nginx = await startEdgeNginx({
    originA: base.primary.url,
    originB: base.secondary.url,
    gateway: gw.url,
    originSecret: base.originSecret,
  }).catch(async (err) => {
    await gw.close();
    throw err;
  });
  return {
    baseUrl: nginx.url,
    close: async () => {
      await nginx.stop();
      await gw.close();
    },
  };
});
