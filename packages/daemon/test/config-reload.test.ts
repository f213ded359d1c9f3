import { describe, expect, it } from 'vitest';
import { configSchema, parseConfig, type SwitchyardConfig } from '../src/config.js';
import { compareConfigs, LIVE_SETTINGS, mergeForReload, RESTART_SETTINGS } from '../src/config-reload.js';
import { jsonLog } from '../src/log.js';

const base = `sip:
  listen: ["udp://127.0.0.1:5060"]
  domain: pbx.example.test
admin:
  socket: /tmp/sy/admin.sock
data: /tmp/sy
log:
  level: info
extensions:
  - number: "1000"
    password: "s3cret"
`;
const parse = (text: string): SwitchyardConfig => parseConfig(text, 'pbx.yaml');

/** Every leaf setting of the schema by dotted path (arrays and free-form objects count as one). */
function schemaSettings(schema: Record<string, unknown>, prefix = ''): string[] {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (schema.type !== 'object' || props === undefined) return [prefix];
  return Object.entries(props).flatMap(([k, v]) => schemaSettings(v, prefix === '' ? k : `${prefix}.${k}`));
}

describe('config reload', () => {
  it('sorts every setting of the schema into live or restart-only, none in both', () => {
    const classified = (path: string) =>
      [...LIVE_SETTINGS, ...Object.keys(RESTART_SETTINGS)].filter((c) => path === c || path.startsWith(`${c}.`));
    for (const path of schemaSettings(configSchema as unknown as Record<string, unknown>)) {
      expect(classified(path), path).toHaveLength(1);
    }
  });

  it('reports live changes and restart-only ones by name', () => {
    const next = parse(
      base
        .replace('level: info', 'level: debug')
        .replace('udp://127.0.0.1:5060', 'udp://127.0.0.1:5070')
        .replace('"s3cret"', '"n3w-secret"'),
    );
    expect(compareConfigs(parse(base), next)).toEqual({
      changed: ['extensions', 'log.level'],
      needsRestart: ['sip.listen'],
    });
  });

  it('an unchanged file changes nothing', () => {
    expect(compareConfigs(parse(base), parse(base))).toEqual({ changed: [], needsRestart: [] });
  });

  it('keeps restart-only settings at their running values and takes the live ones', () => {
    const running = parse(base);
    const next = parse(
      `${base.replace('/tmp/sy\n', '/tmp/elsewhere\n').replace('level: info', 'level: warn')}media:\n  rtpPorts: {min: 20000, max: 20100}\n  announce: 192.0.2.7\n`,
    );
    const merged = mergeForReload(running, next);
    expect(merged.data).toBe('/tmp/sy');
    expect(merged.media?.rtpPorts).toBeUndefined();
    expect(merged.media?.announce).toBe('192.0.2.7');
    expect(merged.log?.level).toBe('warn');
    // The pending restart-only change is still reported by the next reload of the same file.
    expect(compareConfigs(merged, next).needsRestart).toEqual(['data', 'media.rtpPorts']);
    expect(running.data).toBe('/tmp/sy'); // the running config object itself is not changed
  });
});

describe('jsonLog level', () => {
  it('changes what is written when the level changes', () => {
    const lines: string[] = [];
    const log = jsonLog((l) => lines.push(l), 'info');
    log('debug', 'hidden');
    log.setLevel('debug');
    expect(log.level).toBe('debug');
    log('debug', 'shown');
    log.setLevel('error');
    log('warn', 'hidden too');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
