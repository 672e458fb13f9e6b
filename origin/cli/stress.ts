/**
 * `npm run stress`: the seed's staggered startup test, done right. Starts N streams `--interval` seconds
 * apart (or all at once, to reproduce the anti-pattern), either as ffmpeg processes running the origin's exact
 * command line, fed by a contribution feed this run starts, or as channels on a node through its operator
 * API. Live progress on stderr; at the end a table, and a JSON report with every sample, in `--out`.
 * Ctrl-C stops everything it started and still writes the report.
 *
 *   npm run stress -- --streams 30 --interval 2 --profile sports-1080p
 *   npm run stress -- --streams 3 --interval 1 --seconds 5 --profile test-180p --encoder libx264
 *   OPERATOR_API_KEY=… npm run stress -- --via api --node http://127.0.0.1:9001 --profile test-180p
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { channelCost, maxChannels } from '../capacity.ts';
import { probeEncoder } from '../encoder-probe.ts';
import { queryGpus } from '../gpu-metrics.ts';
import { runCli } from './args.ts';
import { ApiFleet } from './stress-api.ts';
import { parseStressArgs, STRESS_USAGE, type StressOptions } from './stress-args.ts';
import { FfmpegFleet } from './stress-ffmpeg.ts';
import { freeUdpPorts, type GroupProcess, startFeed } from './stress-process.ts';
import { formatResults, streamResults, summarize } from './stress-report.ts';
import { type HostSample, runStress } from './stress-run.ts';
import type { Fleet } from './stress-types.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

async function inputsAndFeed(
  o: StressOptions,
  count: number,
): Promise<{ inputs: string[]; feed?: GroupProcess }> {
  if (o.input) return { inputs: Array(count).fill(o.input) };
  const host = o.via === 'api' ? new URL(o.node!).hostname : '127.0.0.1';
  const ports =
    o.via === 'api' && o.udpBase !== undefined
      ? Array.from({ length: count }, (_, i) => o.udpBase! + i)
      : await freeUdpPorts(count);
  const feed = startFeed(
    ports.map((p) => `${host}:${p}`),
    o.profile,
    join(o.outDir, 'feed.log'),
  );
  return { inputs: ports.map((p) => `udp://${host}:${p}`), feed };
}

async function main(): Promise<number> {
  const o = parseStressArgs(process.argv.slice(2), process.env);
  if (o === 'help') {
    process.stdout.write(`${STRESS_USAGE}\n`);
    return 0;
  }
  await mkdir(o.outDir, { recursive: true });
  const tag = Date.now().toString(36).slice(-4);
  const ids = Array.from({ length: o.streams }, (_, i) => `stress-${tag}-${String(i + 1).padStart(2, '0')}`);
  const gpu = (await queryGpus()).ok;

  let encoder: string | undefined;
  if (o.via === 'ffmpeg') {
    const probe = await probeEncoder({
      choice: o.encoder,
      gpuModel: undefined,
      workDir: join(tmpdir(), `stress-probe-${tag}`),
    });
    encoder = probe.encoder;
    say(`encoder: ${probe.encoder}${probe.encoder === 'libx264' ? ` (NVENC: ${probe.nvenc.reason})` : ''}`);
    if (probe.encoder === 'libx264') {
      const cpu = { kind: 'cpu' as const, cores: availableParallelism() };
      const fits = maxChannels(cpu, o.profile);
      if (o.streams > fits) {
        say(
          `warning: ${o.streams} × ${o.profile.id} needs ≈ ${(o.streams * channelCost(cpu, o.profile) * cpu.cores).toFixed(1)} cores` +
            ` by the capacity model; this host has ${cpu.cores} (fits ${fits}). Expect speed < 1.`,
        );
      }
    }
  }

  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (signalled) return;
      signalled = sig;
      say(`\n${sig}: stopping every stream…`);
      controller.abort();
    });
  }

  const { inputs, feed } = await inputsAndFeed(o, o.streams);
  const fleet: Fleet =
    o.via === 'ffmpeg'
      ? new FfmpegFleet({
          ids,
          inputs,
          profile: o.profile,
          encoder: encoder as 'nvenc' | 'libx264',
          outDir: o.outDir,
        })
      : new ApiFleet({
          nodeUrl: o.node!,
          apiKey: o.apiKey!,
          ids,
          inputs,
          profile: o.profile.id,
          outDir: o.outDir,
          local: ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(o.node!).hostname),
        });
  say(
    `${o.streams} × ${o.profile.id} via ${o.via}, ${o.allAtOnce ? 'ALL AT ONCE' : `${o.intervalS} s apart`},` +
      ` then ${o.holdS} s with all encoding; logs in ${o.outDir}/streams/`,
  );

  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const onTick = (now: number, h: HostSample) => {
    if (!tty && now - lastPrinted < 5_000) return;
    lastPrinted = now;
    const s = fleet.streams;
    const launched = s.filter((x) => x.launchedAt !== null).length;
    const framing = s.filter((x) => x.firstFrameAt !== null && x.failure === null).length;
    const failed = s.filter((x) => x.failure !== null).length;
    const gpuText = h.gpus?.length
      ? `  NVENC ${Math.round((h.gpus[0]?.encoderUtilization ?? 0) * 100)} %`
      : '';
    const line =
      `[${((now - runStart) / 1000).toFixed(0).padStart(4)} s] launched ${launched}/${s.length}` +
      `  encoding ${framing}  failed ${failed}  host CPU ${h.cpu === undefined ? '–' : `${Math.round(h.cpu * 100)} %`}${gpuText}`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };

  const runStart = Date.now();
  let timeline: Awaited<ReturnType<typeof runStress>>;
  try {
    timeline = await runStress(
      fleet,
      {
        intervalMs: o.allAtOnce ? 0 : o.intervalS * 1000,
        holdMs: o.holdS * 1000,
        startTimeoutMs: o.startTimeoutS * 1000,
      },
      { signal: controller.signal, onTick, gpu, ...(feed?.pid === undefined ? {} : { feedPid: feed.pid }) },
    );
  } finally {
    await feed?.stop(3_000);
  }
  if (tty) process.stderr.write('\n');

  const results = streamResults(fleet.streams, timeline.startedAt, timeline.interrupted);
  const summary = summarize(results, timeline);
  const report = {
    tool: 'stress',
    version: 1,
    host: { hostname: hostname(), cpus: availableParallelism(), gpu },
    options: {
      via: o.via,
      streams: o.streams,
      intervalS: o.allAtOnce ? 0 : o.intervalS,
      allAtOnce: o.allAtOnce,
      holdS: o.holdS,
      startTimeoutS: o.startTimeoutS,
      profile: o.profile.id,
      encoder: encoder ?? null,
      node: o.node ?? null,
      input: o.input ?? (feed ? 'contribution feed started by this run' : null),
    },
    startedAt: new Date(timeline.startedAt).toISOString(),
    endedAt: new Date(timeline.endedAt).toISOString(),
    interrupted: timeline.interrupted,
    summary,
    streams: results,
    hostSamples: timeline.host,
  };
  const reportPath = join(o.outDir, 'report.json');
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatResults(results, summary)}\n`,
  );
  say(`report: ${resolve(reportPath)}`);
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  return summary.startFailures > 0 ? 1 : 0;
}

if (import.meta.main) runCli(STRESS_USAGE, main);
