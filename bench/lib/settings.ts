/**
 * Command-line settings of `npm run bench`. The full run measures each throughput subject in several
 * interleaved rounds (ratios are taken round by round, then the median), so a neighbour's burst of CPU
 * use skews one round rather than one subject; `--quick` is one short round of everything, for development.
 */
import { parseArgs } from 'node:util';

export interface Settings {
  quick: boolean;
  /** seconds of load before the measured rounds of each subject (JIT, caches, connections) */
  warmupSeconds: number;
  /** warm each process once per run instead of before every group */
  warmOnce: boolean;
  /** seconds per measured round */
  seconds: number;
  rounds: number;
  /** wrk connections for 1 KB and 64 KB objects, and for 2 MB objects */
  connections: { small: number; large: number };
  /** simulated players and how long they play, for the store-commands row */
  players: { count: number; periodMs: number; seconds: number };
  /** sessions created for the Redis memory row */
  sessionsForMemory: number;
  soak: { seconds: number; players: number; periodMs: number };
  /** run the gateways under --cpu-prof and summarize the profiles */
  profile: boolean;
  /** also run bench/edge.ts (Worker on workerd, nginx edge): full runs only, unless asked */
  edge: boolean;
}

const USAGE = `usage: npm run bench -- [--quick] [--profile] [--edge | --no-edge] [--rounds N] [--seconds N]
  --quick     one short round of everything (under a minute), for development
  --profile   run the gateways under --cpu-prof and print where their time went
  --edge      also run bench/edge.ts (Worker, nginx edge): the default in full runs; --no-edge skips it
  --rounds N  measured rounds per throughput subject (default 3; quick 1)
  --seconds N seconds per round (default 5; quick 1)`;

export function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      edge: { type: 'boolean' },
      'no-edge': { type: 'boolean' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  return {
    quick,
    warmupSeconds: quick ? 1 : 2,
    warmOnce: quick,
    seconds: positiveInt('seconds', values.seconds, quick ? 1 : 5),
    rounds: positiveInt('rounds', values.rounds, quick ? 1 : 3),
    connections: { small: 32, large: 8 },
    players: { count: 200, periodMs: 2000, seconds: quick ? 4 : 20 },
    sessionsForMemory: 100_000,
    soak: { seconds: quick ? 10 : 60, players: 1000, periodMs: 2000 },
    profile: values.profile === true,
    edge: values['no-edge'] ? false : (values.edge ?? !quick),
  };
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 600) {
    console.error(`--${name} must be an integer from 1 to 600\n${USAGE}`);
    process.exit(2);
  }
  return n;
}
