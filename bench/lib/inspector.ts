/**
 * The live JS heap of a subject started with `--inspect=127.0.0.1:0`: a full garbage collection through
 * the inspector protocol, then the heap in use. Resident memory alone cannot tell a leak from V8 growing
 * its heap between major collections; the heap left after a full collection can.
 */

import { waitFor } from '../../test/helpers/net.ts';
import type { Proc } from '../../test/helpers/process.ts';

export const INSPECT_ARGS = ['--inspect=127.0.0.1:0'];

export interface Inspector {
  /** heap in use right after a full collection, in bytes */
  liveHeap(): Promise<number>;
  close(): void;
}

export async function connectInspector(proc: Proc): Promise<Inspector> {
  const url = await waitFor(() => /Debugger listening on (ws:\/\/\S+)/.exec(proc.output())?.[1], {
    what: 'inspector address',
  });
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`inspector ${url}: connection failed`)), {
      once: true,
    });
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const call = (method: string) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    liveHeap: async () => {
      await call('HeapProfiler.collectGarbage');
      return ((await call('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
    },
    close: () => ws.close(),
  };
}
