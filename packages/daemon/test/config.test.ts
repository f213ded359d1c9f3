import { describe, expect, it } from 'vitest';
import { ConfigError, mediaDefaults, parseConfig } from '../src/config.js';

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
