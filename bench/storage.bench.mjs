// Call records and REGISTER bindings per second through the SQLite storage (WAL, synchronous=FULL), one at a time
// vs. many in flight, with one commit per write ('immediate', the old behaviour) vs. group commit (one commit per
// event-loop turn).
// Sequential writers cannot share a commit; concurrent ones (calls ending together) can. Rounds are interleaved
// and the median kept; compare ratios within one run (the machine is shared, fsync cost varies).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '@switchyard/daemon';

const T0 = 1_700_000_000_000;
const ROUNDS = 3;
const ROUND_MS = 400;
const IN_FLIGHT = 64;

function leg(legId, peer, at) {
  return {
    legId,
    peerKind: 'extension',
    peer,
    direction: 'outbound',
    sipCallId: `${legId}@127.0.0.1`,
    contactUri: `sip:${peer}@127.0.0.1:5070`,
    startedAt: at,
    ringingAt: at + 100,
    answeredAt: at + 900,
    endedAt: at + 60_000,
    status: 'answered',
    sipStatus: 200,
    codec: 'PCMU',
  };
}

function record(callId, at) {
  return {
    callId,
    direction: 'internal',
    callerNumber: '201',
    callerName: 'Alice',
    calleeNumber: '202',
    calleeName: 'Bob',
    dialledNumber: '202',
    callerExtension: '201',
    calleeExtension: '202',
    did: null,
    trunk: null,
    status: 'answered',
    startedAt: at,
    ringingAt: at + 100,
    answeredAt: at + 900,
    endedAt: at + 60_000,
    hangupSide: 'caller',
    hangupSipStatus: null,
    hangupReason: null,
    callType: 'internal',
    cost: null,
    recordingPath: null,
    legs: [leg(`${callId}-a`, '201', at), leg(`${callId}-b`, '202', at)],
    steps: [{ at, kind: 'note', target: '202', endedAt: at + 900, detail: null }],
  };
}

/** A phone's binding of one of 1000 extensions (a registration storm refreshes them all). */
function binding(i, at) {
  const extension = String(5000 + (i % 1000));
  return {
    extension,
    contactUri: `sip:${extension}@127.0.0.1:${6000 + (i % 1000)}`,
    instanceId: null,
    regId: null,
    callId: `reg-${extension}`,
    cseq: i,
    path: [],
    transport: 'udp',
    sourceAddress: '127.0.0.1',
    sourcePort: 6000 + (i % 1000),
    flowId: null,
    userAgent: 'bench',
    q: 1,
    expiresAt: at + 3_600_000,
    registeredAt: at,
    updatedAt: at,
  };
}

const writeRecord = (storage, tag, i) => storage.cdrs.insert(record(`${tag}-${i}`, T0 + i));
const writeBinding = (storage, _tag, i) => storage.registrations.upsert(binding(i, T0 + i));

/** Writes for ROUND_MS with `inFlight` writes outstanding; returns writes/s and writes per commit. */
async function round(storage, tag, inFlight, write) {
  const commits = storage.groupCommits;
  let next = 0;
  const deadline = performance.now() + ROUND_MS;
  const start = performance.now();
  const writer = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      await write(storage, tag, i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, writer));
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: next / seconds, perCommit: next / Math.max(1, storage.groupCommits - commits) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function () {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-bench-storage-'));
  const cases = [
    { name: 'call records, one commit each', groupCommit: 'immediate', inFlight: 1, write: writeRecord },
    { name: 'call records, one commit each', groupCommit: 'immediate', inFlight: IN_FLIGHT, write: writeRecord },
    { name: 'call records, group commit', groupCommit: undefined, inFlight: 1, write: writeRecord },
    { name: 'call records, group commit', groupCommit: undefined, inFlight: IN_FLIGHT, write: writeRecord },
    { name: 'REGISTER bindings, one commit each', groupCommit: 'immediate', inFlight: IN_FLIGHT, write: writeBinding },
    { name: 'REGISTER bindings, group commit', groupCommit: undefined, inFlight: IN_FLIGHT, write: writeBinding },
  ];
  const stores = cases.map((c, i) =>
    openSqliteStorage(join(root, `case-${i}`), c.groupCommit === undefined ? {} : { groupCommit: c.groupCommit }),
  );
  const samples = cases.map(() => ({ perSecond: [], perCommit: [] }));
  try {
    for (const [i, c] of cases.entries()) {
      if (c.write !== writeBinding) continue;
      for (let n = 0; n < 1000; n++) {
        await stores[i].extensions.create({ number: String(5000 + n), displayName: `E${n}`, sipPassword: 'pw-bench' });
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, c] of cases.entries()) {
        const s = await round(stores[i], `r${r}`, c.inFlight, c.write);
        samples[i].perSecond.push(s.perSecond);
        samples[i].perCommit.push(s.perCommit);
      }
    }
  } finally {
    for (const s of stores) await s.close();
    rmSync(root, { recursive: true, force: true });
  }
  // Each kind against its own one-commit-per-write case with as many writes in flight.
  const baseOf = (c) =>
    median(
      samples[cases.findIndex((b) => b.write === c.write && b.groupCommit === 'immediate' && b.inFlight === IN_FLIGHT)]
        .perSecond,
    );
  return {
    title: 'Call records and REGISTER bindings written durably (SQLite WAL, synchronous=FULL)',
    columns: ['writes', 'writes in flight', 'writes/s', 'writes per commit', 'vs one commit each, concurrent'],
    rows: cases.map((c, i) => [
      c.name,
      c.inFlight,
      median(samples[i].perSecond),
      median(samples[i].perCommit),
      `${(median(samples[i].perSecond) / baseOf(c)).toFixed(2)}x`,
    ]),
    notes: [
      `Median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms; each record has 2 legs and 1 step.`,
      'Sequential writers (1 in flight) wait for their own commit, so they gain nothing from grouping.',
    ],
  };
}
