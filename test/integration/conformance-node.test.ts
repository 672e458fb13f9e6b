/** The conformance suite against the Node gateway (startNodeGateway: the real server on a real socket). */
import { startNodeGateway } from '../../src/node.ts';
import { conformanceSuite } from '../helpers/conformance.ts';

conformanceSuite('Node gateway', async (base) => {
  const gw = await startNodeGateway({ ...base.env, PORT: '0', HOST: '127.0.0.1' });
  return { baseUrl: gw.url, close: () => gw.close() };
});
