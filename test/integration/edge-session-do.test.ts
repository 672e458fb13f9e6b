/**
 * The Durable Object session store passes the one SessionStore contract, on real workerd: a test-only
 * Worker (test/helpers/session-do-worker.ts) runs the real DurableObjectSessionStore and SessionDO, and
 * the contract suite drives it over HTTP from here.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type {
  AdmitRequest,
  AdmitResult,
  SessionInfo,
  SessionState,
  SessionStore,
  SessionStoreOptions,
} from '../../src/sessions/types.ts';
import { SessionInputError } from '../../src/sessions/validate.ts';
import { sessionStoreContract } from '../helpers/session-contract.ts';
import { startWorkerd, type Workerd } from '../helpers/workerd.ts';

const HARNESS = fileURLToPath(new URL('../helpers/session-do-worker.ts', import.meta.url));
const WRANGLER_TOML = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));
const configPath = join(tmpdir(), `session-do-harness-${process.pid}.toml`);
let worker: Workerd;

beforeAll(async () => {
  // same runtime settings as the deployed Worker; only the entry differs
  const date = /^compatibility_date = "([0-9-]+)"/m.exec(await readFile(WRANGLER_TOML, 'utf8'))?.[1];
  await writeFile(
    configPath,
    [
      'name = "session-do-harness"',
      `main = "${HARNESS}"`,
      `compatibility_date = "${date}"`,
      '[[durable_objects.bindings]]',
      'name = "SESSIONS"',
      'class_name = "SessionDO"',
      '[[migrations]]',
      'tag = "v1"',
      'new_sqlite_classes = ["SessionDO"]',
      '',
    ].join('\n'),
  );
  worker = await startWorkerd({ config: configPath, readyPath: '/' });
});
afterAll(async () => {
  await worker?.stop();
  await rm(configPath, { force: true });
});

/** The store as the contract sees it: every call is one request to the harness Worker. */
class WorkerdSessionStore implements SessionStore {
  readonly #opts: SessionStoreOptions;
  constructor(opts: SessionStoreOptions) {
    this.#opts = opts;
  }
  async #call(op: keyof SessionStore, ...args: unknown[]): Promise<unknown> {
    const res = await fetch(worker.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ op, opts: this.#opts, args }),
    });
    const body = (await res.json()) as { result?: unknown; field?: string; message?: string; error?: string };
    if (res.status === 422 && body.field && body.message)
      throw new SessionInputError(body.field, body.message.slice(body.field.length + 1));
    if (!res.ok) throw new Error(`harness ${op}: ${res.status} ${body.error}`);
    return body.result;
  }
  admit = (req: AdmitRequest) => this.#call('admit', req) as Promise<AdmitResult>;
  state = (req: { sub: string; sid: string; iat: number; now?: number }) =>
    this.#call('state', req) as Promise<SessionState>;
  revoke = (sub: string, now?: number) => this.#call('revoke', sub, now) as Promise<{ revoked: number }>;
  list = (sub: string, now?: number) => this.#call('list', sub, now) as Promise<SessionInfo[]>;
  ping = async () => {
    await this.#call('ping');
  };
  close = async () => {};
}

sessionStoreContract('Durable Object on workerd', (opts) => new WorkerdSessionStore(opts));
