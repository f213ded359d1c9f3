import { describe, expect, it } from 'vitest';
import { ConfigError, mediaDefaults, parseConfig, parseHostPort } from '../src/config.js';
import { batchedLines, jsonLog, logLevelOf } from '../src/log.js';

const good = `sip:
  listen: ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
  domain: pbx.example.test
admin:
  socket: /var/lib/switchyard/admin.sock
data: /var/lib/switchyard
extensions:
  - number: "1000"
    name: Alice
    password: "s3cret"
  - number: "1001"
    name: Bob
    password: "s3cret2"
`;

function problems(text: string, file = 'pbx.yaml'): ConfigError {
  try {
    parseConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('reads the documented example', () => {
    const c = parseConfig(good, 'pbx.yaml');
    expect(c.sip.domain).toBe('pbx.example.test');
    expect(c.extensions.map((e) => e.number)).toEqual(['1000', '1001']);
    expect(c.admin.socket).toBe('/var/lib/switchyard/admin.sock');
  });

  it('reads JSON too, and defaults the admin socket into the data directory', () => {
    const c = parseConfig(
      JSON.stringify({ sip: { listen: ['udp://127.0.0.1:5060'], domain: 'x' }, data: '/tmp/d' }),
      'c.json',
    );
    expect(c.admin.socket).toBe('/tmp/d/admin.sock');
    expect(c.extensions).toEqual([]);
  });

  it('names file, line and field of a wrong type', () => {
    const e = problems(good.replace('number: "1001"', 'number: 1001'));
    expect(e.problems).toEqual([expect.objectContaining({ field: 'extensions[1].number', line: 11 })]);
    expect(e.message).toMatch(/^pbx\.yaml:11:\d+: extensions\[1\]\.number: must be string/);
  });

  it('names an unknown key and a missing one', () => {
    const e = problems(good.replace('    name: Bob\n', '    nmae: Bob\n').replace('    password: "s3cret"\n', ''));
    const fields = e.problems.map((p) => `${p.field}@${p.line}`);
    expect(fields).toContain('extensions[1].nmae@11');
    expect(fields).toContain('extensions[0].password@8');
  });

  it('checks listen URLs and duplicate extension numbers', () => {
    const e = problems(good.replace('tcp://127.0.0.1:5060', 'tcp://pbx.example.test:5060').replace('"1001"', '"1000"'));
    expect(e.problems.map((p) => `${p.field}@${p.line}`)).toEqual(['sip.listen[1]@2', 'extensions[1].number@11']);
  });

  it('reports YAML syntax errors with their line', () => {
    const e = problems('sip:\n  listen: [\n  domain: x\n', 'bad.yaml');
    expect(e.problems[0].field).toBe('(syntax)');
    expect(e.problems[0].line).toBeGreaterThan(0);
  });

  it('reads the operational keys: network admin with a token, metrics, log level, drain timeout, digest order', () => {
    const c = parseConfig(
      `${good
        .replace('  domain: pbx.example.test\n', '  domain: pbx.example.test\n  digestAlgorithms: ["MD5", "SHA-256"]\n')
        .replace(
          'admin:\n  socket: /var/lib/switchyard/admin.sock\n',
          'admin:\n  socket: /a.sock\n  tcp: "127.0.0.1:7070"\n  ws: "[::1]:7071"\n  token: "0123456789abcdef0123"\n',
        )}metrics:\n  listen: "127.0.0.1:9090"\nlog:\n  level: debug\nshutdown:\n  drainTimeoutSeconds: 5\n`,
      'pbx.yaml',
    );
    expect(c.sip.digestAlgorithms).toEqual(['MD5', 'SHA-256']);
    expect(c.admin).toMatchObject({ tcp: '127.0.0.1:7070', ws: '[::1]:7071' });
    expect(c.metrics?.listen).toBe('127.0.0.1:9090');
    expect(c.log?.level).toBe('debug');
    expect(c.shutdown?.drainTimeoutSeconds).toBe(5);
    const guard = parseConfig(
      `${good}security:\n  authFailures: { maxFailures: 3, windowSeconds: 60, blockSeconds: 600 }\n`,
      'pbx.yaml',
    );
    expect(guard.security?.authFailures).toEqual({ maxFailures: 3, windowSeconds: 60, blockSeconds: 600 });
    expect(problems(`${good}security:\n  authFailures: { maxFailures: 0, windowSeconds: 60 }\n`).problems.length).toBe(
      2,
    );
  });

  it('refuses a network admin interface without a token, and bad addresses, levels and algorithms', () => {
    const e = problems(
      good
        .replace(
          'admin:\n  socket: /var/lib/switchyard/admin.sock\n',
          'admin:\n  socket: /a.sock\n  tcp: "127.0.0.1:7070"\n',
        )
        .replace('  domain: pbx.example.test\n', '  domain: pbx.example.test\n  digestAlgorithms: ["SHA-1"]\n') +
        'metrics:\n  listen: "localhost"\nlog:\n  level: chatty\n',
    );
    const fields = e.problems.map((p) => `${p.field}: ${p.message}`);
    expect(fields).toContain(
      'sip.digestAlgorithms[0]: must be one of MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256, SHA-512-256-sess',
    );
    expect(fields).toContain('log.level: must be one of debug, info, warn, error');
    const e2 = problems(
      `${good.replace(
        'admin:\n  socket: /var/lib/switchyard/admin.sock\n',
        'admin:\n  socket: /a.sock\n  ws: "127.0.0.1:7071"\n',
      )}metrics:\n  listen: "localhost"\n`,
    );
    expect(e2.problems.map((p) => `${p.field}@${p.line}: ${p.message}`)).toEqual([
      'admin.ws@6: needs admin.token or admin.tokenFile',
      'metrics.listen@16: must be address:port',
    ]);
  });

  it('splits address:port, with IPv6 in brackets', () => {
    expect(parseHostPort('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHostPort('localhost')).toBeUndefined();
    expect(parseHostPort('::1:80')).toBeUndefined();
    expect(parseHostPort('h:70000')).toBeUndefined();
  });

  it('reads the media section, and defaults it from the first listen address', () => {
    const c = parseConfig(
      good.replace('data:', 'media:\n  address: 127.0.0.2\n  rtpPorts: { min: 30000, max: 30999 }\ndata:'),
      'pbx.yaml',
    );
    expect(mediaDefaults(c)).toEqual({ address: '127.0.0.2', rtpPorts: { min: 30000, max: 30999 } });
    expect(mediaDefaults(parseConfig(good, 'pbx.yaml'))).toEqual({
      address: '127.0.0.1',
      rtpPorts: { min: 10000, max: 20000 },
    });
    const v6 = parseConfig(good.replace('udp://127.0.0.1:5060', 'udp://[::1]:5060'), 'pbx.yaml');
    expect(mediaDefaults(v6).address).toBe('::1');
  });

  it('names a bad media address or port range', () => {
    const e = problems(
      good.replace('data:', 'media:\n  address: pbx.example.test\n  rtpPorts: { min: 30000, max: 30001 }\ndata:'),
    );
    expect(e.problems.map((p) => `${p.field}@${p.line}`)).toEqual(['media.address@7', 'media.rtpPorts.max@8']);
    const low = problems(good.replace('data:', 'media:\n  rtpPorts: { min: 80, max: 30000 }\ndata:'));
    expect(low.problems[0].field).toBe('media.rtpPorts.min');
  });
});

describe('log levels', () => {
  it('writes lines at or above the level, and the environment overrides the config', () => {
    const lines: string[] = [];
    const log = jsonLog((l) => lines.push(l), logLevelOf({ log: { level: 'warn' } }, {}));
    log('info', 'quiet');
    log('warn', 'loud', { call: 'c1' });
    log('error', 'louder');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'loud', call: 'c1' }),
      expect.objectContaining({ level: 'error', msg: 'louder' }),
    ]);
    expect(logLevelOf({ log: { level: 'warn' } }, { SWITCHYARD_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelOf({ log: { level: 'warn' } }, { SWITCHYARD_LOG_LEVEL: 'nonsense' })).toBe('warn');
    expect(logLevelOf(undefined, {})).toBe('info');
  });

  it("joins one turn's lines into one write, and writes what is pending on flush", () => {
    const writes: string[] = [];
    const turns: Array<() => void> = [];
    const batch = batchedLines(
      (text) => writes.push(text),
      (flush) => turns.push(flush),
    );
    const log = jsonLog(batch.write, 'info');
    log('info', 'call.started', { call: 'c1' });
    log('info', 'call.ringing', { call: 'c1' });
    expect(writes).toEqual([]);
    expect(turns).toHaveLength(1); // one flush scheduled for the turn, not one per line
    turns.shift()?.();
    expect(writes).toHaveLength(1);
    expect(
      writes[0]
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l).msg),
    ).toEqual(['call.started', 'call.ringing']);
    log('warn', 'stopping');
    batch.flush(); // at exit: no waiting for the turn
    expect(writes).toHaveLength(2);
    turns.shift()?.(); // the turn's own flush then finds nothing to write
    batch.flush();
    expect(writes).toHaveLength(2);
  });
});
