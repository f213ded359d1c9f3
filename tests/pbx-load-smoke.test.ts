// The PBX call load generator (bench/lib/pbx-call-load.mjs) at a tiny scale, so it cannot rot: it starts the real
// daemon, registers a few phones with digest auth, places calls that carry G.711 RTP both ways, and reports.
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const generator = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'lib', 'pbx-call-load.mjs');

interface Step {
  attempted: number;
  answered: number;
  failed: number;
  rtpSent: number;
  rtpLost: number;
  rtpLostAtStart: number;
  rtpLostCallerToCallee: number;
  rtpLostCalleeToCaller: number;
  p50ms: number;
  p99ms: number;
  anchored: number;
  direct: number;
}

interface LoadResult {
  error?: string;
  rtpGenerator: 'c' | 'js';
  registration: { failed: number };
  rateSteps: Step[];
  levelSteps: Array<Step & { held: number }>;
  bestRate: number;
  bestConcurrent: number;
}

function run(options: object): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [generator, JSON.stringify(options)], { timeout: 30_000 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout) as LoadResult);
      } catch {
        reject(new Error(`generator output unreadable (${err?.message}): ${stdout}\n${stderr}`));
      }
    });
  });
}

// The C RTP generator (bench/c/rtp_phones.c) is built with gcc when it is there; the JS worker is the fallback.
const hasGcc = spawnSync('gcc', ['--version']).status === 0;

describe('the PBX call load generator', () => {
  it.each(['c', 'js'] as const)(
    'places two calls with RTP (%s generator) both ways through the daemon and holds two at once',
    async (rtpGenerator) => {
      const r = await run({
        rtpGenerator,
        users: 8,
        rates: [2],
        stepMs: 1000,
        holdMs: 400,
        levels: [2],
        levelHoldMs: 400,
        pauseMs: 100,
        setupMarginMs: 300,
      });
      expect(r.error).toBeUndefined();
      expect(r.rtpGenerator).toBe(rtpGenerator === 'c' && hasGcc ? 'c' : 'js');
      expect(r.registration.failed).toBe(0);
      const [rate] = r.rateSteps;
      expect(rate).toMatchObject({ attempted: 2, answered: 2, failed: 0 });
      // 400 ms of 20 ms packets, both ways, two calls: about 80 packets. On loopback at this scale none is lost once a
      // stream flows; an anchoring PBX may drop the first packet or two it gets before it has bridged the legs.
      expect(rate.rtpSent).toBeGreaterThan(40);
      expect(rate.rtpLost - rate.rtpLostAtStart).toBe(0);
      // Media flowed both ways: most of each direction's packets (about half of rtpSent each) arrived.
      expect(rate.rtpLostCallerToCallee).toBeLessThan(rate.rtpSent / 4);
      expect(rate.rtpLostCalleeToCaller).toBeLessThan(rate.rtpSent / 4);
      expect(rate.p50ms).toBeGreaterThan(0);
      expect(rate.p99ms).toBeGreaterThanOrEqual(rate.p50ms);
      expect(rate.anchored + rate.direct).toBe(2);
      const [level] = r.levelSteps;
      expect(level).toMatchObject({ attempted: 2, answered: 2, failed: 0, held: 2 });
      expect(level.rtpLost - level.rtpLostAtStart).toBe(0);
      expect(r.bestRate).toBe(2);
    },
    30_000,
  );
});
