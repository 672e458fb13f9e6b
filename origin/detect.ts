/**
 * `npm run detect -- <recording> --channel ID --secret-env WATERMARK_SECRET [--candidates file-or-list]
 *   [--playlist file] [--alpha 1e-6] [--json]`
 *
 * Names the account a recording of a watermarked channel was served to. It needs only the recording and
 * the secret: the channel's pattern and every account's variant sequence are derived from WATERMARK_SECRET.
 * Exit status: 0 an account named or a code recovered, 1 no watermark found, 2 bad usage or input.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { importWatermarkKey } from '../src/delivery/watermark-keys.ts';
import { CHANNEL_ID_RE } from './channel-request.ts';
import { correlate } from './detect/correlate.ts';
import { decide, MIN_SEGMENTS, type Verdict } from './detect/decide.ts';
import { type FrameSum, recordingSums, segmentSum, template } from './detect/luma.ts';
import { NothingToJudge, openRecording, type Recording, UsageError } from './detect/recording.ts';
import { renderJson, renderText } from './detect/report.ts';

const USAGE = `usage: npm run detect -- <recording> --channel ID --secret-env NAME [options]
  <recording>               a directory of segments named {seq}.ts, or one recorded file (.ts, .mp4…)
  --channel ID              the channel it was recorded from (its pattern and masks are keyed by it)
  --secret-env NAME         environment variable holding WATERMARK_SECRET (never pass secrets in argv)
  --candidates LIST|FILE    accounts (sub) to test: a comma list, or a file with one per line
  --playlist FILE           the media playlist saved with a recorded file (default: <recording>.m3u8)
  --alpha P                 largest accepted chance of naming an unrelated account (default 1e-6)
  --json                    one JSON object on stdout`;

export interface DetectOptions {
  recording: string;
  channel: string;
  secret: string;
  candidates: string[];
  playlist?: string;
  alpha: number;
}

export interface DetectResult {
  /** undefined when the input held nothing to open (an empty directory or file) */
  recording?: Recording;
  verdict?: Verdict;
  /** why nothing could be judged */
  reason?: string;
}

async function parse(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ opts: DetectOptions; json: boolean }> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      channel: { type: 'string' },
      'secret-env': { type: 'string' },
      candidates: { type: 'string' },
      playlist: { type: 'string' },
      alpha: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('one recording is needed');
  if (!values.channel || !CHANNEL_ID_RE.test(values.channel))
    throw new UsageError('--channel: a channel id is needed');
  const secretName = values['secret-env'];
  if (!secretName)
    throw new UsageError('--secret-env: the name of the variable holding WATERMARK_SECRET is needed');
  const secret = env[secretName];
  if (!secret || secret.length < 16)
    throw new UsageError(`--secret-env: ${secretName} is unset or shorter than 16 characters`);
  const alpha = Number(values.alpha ?? '1e-6');
  if (!(alpha > 0 && alpha < 1)) throw new UsageError('--alpha: a probability between 0 and 1 is needed');
  return {
    opts: {
      recording: positionals[0]!,
      channel: values.channel,
      secret,
      candidates: values.candidates ? await candidateList(values.candidates) : [],
      ...(values.playlist ? { playlist: values.playlist } : {}),
      alpha,
    },
    json: values.json ?? false,
  };
}

/** A file of subs (one per line, `#` comments) when such a file exists, otherwise a comma list. */
async function candidateList(value: string): Promise<string[]> {
  const text = await readFile(value, 'utf8').catch(() => undefined);
  const items =
    text === undefined ? value.split(',') : text.split('\n').filter((l) => !l.trim().startsWith('#'));
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))];
}

/** Per-segment evidence of a recording: index → frame sums (sequence numbers for a capture directory). */
async function sumsOf(rec: Recording): Promise<Map<number, FrameSum>> {
  if (rec.kind === 'file') return recordingSums(rec.path, rec.segmentSeconds);
  const sums = new Map<number, FrameSum>();
  for (const s of rec.segments) {
    const sum = await segmentSum(s.file);
    if (sum) sums.set(s.seq, sum);
  }
  return sums;
}

export async function detect(opts: DetectOptions): Promise<DetectResult> {
  let recording: Recording;
  try {
    recording = await openRecording(opts.recording, opts.playlist);
  } catch (err) {
    if (err instanceof NothingToJudge) return { reason: err.message };
    throw err;
  }
  const sums = await sumsOf(recording);
  if (sums.size === 0) return { recording, reason: 'no decodable video in the recording' };
  const soft = correlate(sums, await template(opts.secret, opts.channel));
  if (soft.size < MIN_SEGMENTS) {
    return {
      recording,
      reason: `only ${soft.size} segment(s) could be judged (at least ${MIN_SEGMENTS} are needed)`,
    };
  }
  const verdict = await decide({
    key: await importWatermarkKey(opts.secret),
    channel: opts.channel,
    evidence: [...soft].map(([index, value]) => ({ index, soft: value })),
    bases: recording.kind === 'file' ? recording.bases : [0],
    candidates: opts.candidates,
    alpha: opts.alpha,
  });
  return { recording, verdict };
}

async function main(): Promise<void> {
  let parsed: Awaited<ReturnType<typeof parse>>;
  try {
    parsed = await parse(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  let result: DetectResult;
  try {
    result = await detect(parsed.opts);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  const found = Boolean(result.verdict?.named || result.verdict?.recovered);
  process.stdout.write(
    parsed.json ? `${JSON.stringify(renderJson(result, parsed.opts))}\n` : renderText(result, parsed.opts),
  );
  process.exit(found ? 0 : 1);
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(`detect failed: ${(err as Error).message}`);
    process.exit(2);
  });
}
