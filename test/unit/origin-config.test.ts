import { describe, expect, it } from 'vitest';
import { ConfigError, parseOriginConfig } from '../../origin/config.ts';

const KEY = 'operator-key-0123456789';
const SECRET_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

function problem(env: Record<string, string>): string {
  try {
    parseOriginConfig({ OPERATOR_API_KEY: KEY, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('origin configuration', () => {
  it('has the documented defaults', () => {
    const c = parseOriginConfig({ OPERATOR_API_KEY: KEY });
    expect(c).toMatchObject({
      port: 9001,
      host: '127.0.0.1',
      startInterval: 2,
      keyPeriod: 150,
      encoder: 'auto',
      allowFileInput: false,
      channelKeySecrets: undefined,
      originSecret: undefined,
      logLevel: 'info',
      operatorApiKeys: [KEY],
    });
    expect(c.cpuCapacity).toBeGreaterThan(0);
  });

  it('parses every variable', () => {
    const c = parseOriginConfig({
      PORT: '9002',
      HOST: '10.0.0.5',
      NODE_ID: 'origin-b',
      DATA_DIR: '/var/lib/origin',
      OPERATOR_API_KEY: `${KEY}, next-operator-key-0000`,
      START_INTERVAL: '0.5',
      CHANNEL_KEY_SECRET: `v2:${SECRET_HEX},v1:${SECRET_HEX}`,
      KEY_PERIOD: '75',
      ENCODER: 'libx264',
      GPU_MODEL: 'nvidia l4',
      ORIGIN_SECRET: 'shared-secret-abc',
      ALLOW_FILE_INPUT: '1',
      CPU_CAPACITY: '1.5',
      LOG_LEVEL: 'debug',
      UNRELATED: 'ignored',
    });
    expect(c).toMatchObject({
      port: 9002,
      host: '10.0.0.5',
      nodeId: 'origin-b',
      dataDir: '/var/lib/origin',
      operatorApiKeys: [KEY, 'next-operator-key-0000'],
      startInterval: 0.5,
      keyPeriod: 75,
      encoder: 'libx264',
      gpuModel: 'NVIDIA L4',
      originSecret: 'shared-secret-abc',
      allowFileInput: true,
      cpuCapacity: 1.5,
      logLevel: 'debug',
    });
    expect(c.channelKeySecrets?.map((s) => s.version)).toEqual(['v2', 'v1']);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'http' }, 'PORT'],
    [{ START_INTERVAL: '-1' }, 'START_INTERVAL'],
    [{ KEY_PERIOD: '1.5' }, 'KEY_PERIOD'],
    [{ ENCODER: 'qsv' }, 'ENCODER'],
    [{ GPU_MODEL: 'GeForce 256' }, 'GPU_MODEL'],
    [{ ALLOW_FILE_INPUT: 'yes' }, 'ALLOW_FILE_INPUT'],
    [{ CPU_CAPACITY: '0' }, 'CPU_CAPACITY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ID: 'a b' }, 'NODE_ID'],
  ])('a bad value names its variable: %o', (env, name) => {
    expect(problem(env)).toContain(`${name}:`);
  });

  it('requires OPERATOR_API_KEY', () => {
    expect(() => parseOriginConfig({})).toThrow(/OPERATOR_API_KEY: is required/);
  });

  it('never echoes a secret in its messages', () => {
    const weak = 'short-key';
    const msg = problem({ OPERATOR_API_KEY: `${KEY},${weak}` });
    expect(msg).toContain('OPERATOR_API_KEY:');
    expect(msg).not.toContain(weak);
    expect(msg).not.toContain(KEY);

    const badSecret = `v1:${SECRET_HEX.slice(0, 20)}`;
    const msg2 = problem({ CHANNEL_KEY_SECRET: badSecret });
    expect(msg2).toContain('CHANNEL_KEY_SECRET:');
    expect(msg2).not.toContain(SECRET_HEX.slice(0, 20));
  });
});
