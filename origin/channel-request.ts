/**
 * Validation of `POST /v1/channels` bodies (and of definitions read back from disk). Every refusal names the
 * field; nothing is created or started for a refused request.
 */
import { z } from 'zod';
import { ApiError } from '../src/errors.ts';
import { findProfile, PROFILES } from './profiles.ts';

export const CHANNEL_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const NETWORK_SCHEMES = ['udp:', 'srt:', 'rtmp:', 'rtmps:', 'http:', 'https:'];

/** ffmpeg protocols an input of each scheme may use (defence in depth: no `file:` behind an http playlist). */
export const PROTOCOL_WHITELIST: Readonly<Record<string, string>> = {
  'udp:': 'udp',
  'srt:': 'srt',
  'rtmp:': 'rtmp,tcp',
  'rtmps:': 'rtmps,rtmp,tcp,tls',
  'http:': 'http,tcp,crypto',
  'https:': 'https,http,tcp,tls,crypto',
  'file:': 'file',
};

const body = z.strictObject({
  id: z.string({ error: 'is required (a string)' }).regex(CHANNEL_ID_RE, {
    message: 'must match ^[a-z0-9][a-z0-9_-]{0,63}$',
  }),
  input: z.string({ error: 'is required (a URL)' }).max(2048, { message: 'is longer than 2048 characters' }),
  profile: z.string({ error: 'is required (a profile id)' }),
  encrypt: z.boolean({ error: 'must be a boolean' }).optional(),
  watermark: z.boolean({ error: 'must be a boolean' }).optional(),
});

export interface ChannelRequest {
  id: string;
  input: string;
  profile: string;
  encrypt: boolean;
  watermark: boolean;
}

function refuse(field: string, message: string): never {
  throw new ApiError('bad_request', `${field}: ${message}`, { details: { field } });
}

function checkInput(input: string, allowFile: boolean): void {
  if (/[\s\u0000-\u001f\u007f]/.test(input)) refuse('input', 'must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    refuse('input', 'is not a URL');
  }
  if (url.protocol === 'file:') {
    if (!allowFile)
      refuse('input', 'file: inputs are disabled on this node (ALLOW_FILE_INPUT=1 enables them)');
    if (url.host !== '' || url.pathname === '/') refuse('input', 'must be file:/absolute/path');
    return;
  }
  if (!NETWORK_SCHEMES.includes(url.protocol)) {
    refuse('input', `scheme ${url.protocol} is not supported (udp, srt, rtmp, rtmps, http, https)`);
  }
  if (url.protocol !== 'udp:' && url.hostname === '') refuse('input', 'needs a host');
}

/** Parses an untrusted body; throws `ApiError('bad_request')` naming the first bad field. */
export function parseChannelRequest(raw: unknown, opts: { allowFileInput: boolean }): ChannelRequest {
  const parsed = body.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') refuse(issue.keys[0] ?? 'body', 'unknown field');
    if (issue.path.length === 0) refuse('body', 'must be a JSON object');
    refuse(String(issue.path[0]), issue.message);
  }
  const v = parsed.data;
  if (!findProfile(v.profile)) {
    refuse(
      'profile',
      `unknown profile "${v.profile.slice(0, 64)}" (known: ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  checkInput(v.input, opts.allowFileInput);
  return {
    id: v.id,
    input: v.input,
    profile: v.profile,
    encrypt: v.encrypt ?? false,
    watermark: v.watermark ?? false,
  };
}

const SECRET_PARAMS = /^(passphrase|streamid|key|token|password|pass|secret|auth|sig|signature)$/i;

/** The input as it may be shown in the API and logs: no credentials, no secret query values. */
export function redactInput(input: string): string {
  try {
    const url = new URL(input);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    for (const k of [...url.searchParams.keys()]) if (SECRET_PARAMS.test(k)) url.searchParams.set(k, '***');
    return url.toString();
  } catch {
    return '[unparseable input]';
  }
}
