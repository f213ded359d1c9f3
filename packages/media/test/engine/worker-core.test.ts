// The worker's command handling, run in-process (no thread) with a manual clock.
import { afterEach, describe, expect, it } from 'vitest';
import type { MainToWorker, WorkerCommand, WorkerToMain } from '../../src/engine/protocol.js';
import { WorkerCore } from '../../src/engine/worker-core.js';

const PCMU = { payloadType: 0, encoding: 'PCMU' as const, clockRate: 8000 };

function harness() {
  const out: WorkerToMain[] = [];
  const core = new WorkerCore(
    { workerIndex: 0, clock: 'manual', tickMs: 20, statisticsIntervalMs: 0 },
    { post: (m) => out.push(m), exit: () => {} },
  );
  let next = 1;
  const call = async (command: WorkerCommand): Promise<unknown> => {
    const id = next++;
    core.handle({ kind: 'command', id, command } satisfies MainToWorker);
    for (let i = 0; i < 500; i++) {
      const r = out.find((m) => m.kind === 'response' && m.id === id);
      if (r && r.kind === 'response') {
        if (r.ok) return r.result;
        throw Object.assign(new Error(r.error.message), { code: r.error.code });
      }
      await new Promise((res) => setTimeout(res, 2));
    }
    throw new Error('no response');
  };
  return { core, out, call };
}

let cleanup: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function endpoint(sessionId: string, port: number, extra: Record<string, unknown> = {}): WorkerCommand {
  return {
    op: 'createEndpoint',
    args: {
      sessionId,
      address: '127.0.0.1',
      port,
      rtcpMux: false,
      codecs: [PCMU],
      ptime: 20,
      rtpTimeoutSeconds: 0,
      ...extra,
    },
  };
}

describe('WorkerCore commands', () => {
  it('validates endpoints: ptime, payload types, duplicate ids, ports in use', async () => {
    const { call } = harness();
    cleanup = () => call({ op: 'shutdown' });
    await expect(call(endpoint('a', 43700, { ptime: 30 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(call(endpoint('a', 43700, { codecs: [{ ...PCMU, payloadType: 200 }] }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(call(endpoint('a', 43700))).resolves.toMatchObject({ sessionId: 'a', port: 43700, rtcpPort: 43701 });
    await expect(call(endpoint('a', 43702))).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
    await expect(call(endpoint('b', 43700))).rejects.toMatchObject({ code: 'BIND_FAILED' });
    await expect(call(endpoint('b', 43704, { address: '192.0.2.1' }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT', // not a local address: no point trying other ports
    });
    await expect(call(endpoint('c', 43702, { codecs: [{ ...PCMU, encoding: 'AMR' }] }))).rejects.toMatchObject({
      code: 'UNSUPPORTED_CODEC',
    });
    // The failed creates released their sockets: the port can be bound again.
    await expect(call(endpoint('c', 43702))).resolves.toMatchObject({ port: 43702 });
  });

  it('refuses to move a session that is in use, and reports unknown targets', async () => {
    const { call } = harness();
    cleanup = () => call({ op: 'shutdown' });
    await call(endpoint('a', 43710));
    await call(endpoint('b', 43712));
    await expect(call({ op: 'bridge', a: 'a', b: 'b' })).resolves.toEqual({ mode: 'relay' });
    await expect(call({ op: 'detach', sessionId: 'a' })).rejects.toMatchObject({ code: 'BUSY' });
    await call({ op: 'unbridge', sessionId: 'b' });
    await expect(call({ op: 'detach', sessionId: 'a' })).resolves.toMatchObject({ dtmf: { inband: false } });
    await expect(call({ op: 'statistics', sessionId: 'a' })).rejects.toMatchObject({ code: 'UNKNOWN_SESSION' });
    await expect(
      call({ op: 'conferenceAdd', conferenceId: 'x', sessionId: 'b', muted: false, gain: 1 }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_CONFERENCE' });
    await expect(call({ op: 'play', sessionId: 'b', items: [], options: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    for (const bad of [{ silenceMs: -1 }, { tone: 7 }, { file: '' }, { nothing: true }, null]) {
      await expect(call({ op: 'play', sessionId: 'b', items: [bad as never], options: {} })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await expect(
      call({ op: 'setRemote', sessionId: 'b', remote: { address: 'phone.example', port: 4000 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      call({ op: 'setRemote', sessionId: 'b', remote: { address: '127.0.0.1', port: 0 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('keeps conference membership exclusive, cleans up on destroy, reports file errors', async () => {
    const { call } = harness();
    cleanup = () => call({ op: 'shutdown' });
    await call(endpoint('a', 43720));
    await call({ op: 'createConference', conferenceId: 'c1', options: {} });
    await call({ op: 'createConference', conferenceId: 'c2', options: {} });
    await call({ op: 'conferenceAdd', conferenceId: 'c1', sessionId: 'a', muted: false, gain: 1 });
    await expect(
      call({ op: 'conferenceAdd', conferenceId: 'c2', sessionId: 'a', muted: false, gain: 1 }),
    ).rejects.toMatchObject({ code: 'BUSY' });
    await expect(call({ op: 'conferenceGain', conferenceId: 'c1', sessionId: 'a', gain: 99 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await call({ op: 'destroyConference', conferenceId: 'c1' });
    // A bad gain leaves no half-seated member behind.
    await expect(
      call({ op: 'conferenceAdd', conferenceId: 'c2', sessionId: 'a', muted: false, gain: 9 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await call({ op: 'conferenceAdd', conferenceId: 'c2', sessionId: 'a', muted: true, gain: 0.5 });
    for (const options of [{ voiceThresholdDb: 3 }, { voiceThresholdDb: Number.NaN }, { voiceHangoverMs: -20 }]) {
      await expect(call({ op: 'createConference', conferenceId: 'c3', options })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await call({ op: 'createConference', conferenceId: 'c3', options: { voiceThresholdDb: -40, voiceHangoverMs: 0 } });
    await call({ op: 'destroyConference', conferenceId: 'c3' });
    const stats = (await call({ op: 'workerStatistics' })) as { sessions: number; conferences: number };
    expect(stats).toMatchObject({ sessions: 1, conferences: 1 });
    await expect(
      call({ op: 'record', sessionId: 'a', options: { file: '/nonexistent-dir/x.wav' } }),
    ).rejects.toMatchObject({ code: 'FILE_ERROR' });
  });
});
