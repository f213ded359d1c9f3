// A committed call record must survive the process being killed at any moment (ARCHITECTURE "Storage"). A child
// process writes records through the BUILT daemon storage and reports each commit; it is SIGKILLed mid-stream,
// and every record it reported must then be in a database that passes PRAGMA integrity_check.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../../src/storage/index.js';

const builtStorage = fileURLToPath(new URL('../../dist/storage/index.js', import.meta.url));
const built = existsSync(builtStorage);
if (!built) console.warn(`crash test skipped: ${builtStorage} missing; run \`npx tsc -b packages/daemon\` first`);

const root = mkdtempSync(join(tmpdir(), 'switchyard-crash-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;

// The writer: opens the storage, then inserts records forever, `width` at a time (so they share group commits),
// printing each call id once its insert resolved.
const writerSource = `
import { openSqliteStorage } from ${JSON.stringify(pathToFileURL(builtStorage).href)};
const [dataDir, round, width] = process.argv.slice(2);
const storage = openSqliteStorage(dataDir);
const leg = (id, peer, at) => ({ legId: id, peerKind: 'extension', peer, direction: 'outbound', sipCallId: null,
  contactUri: null, startedAt: at, ringingAt: null, answeredAt: at + 1, endedAt: at + 5, status: 'answered',
  sipStatus: 200, codec: 'PCMU' });
const insert = (i) => {
  const at = ${T0} + Number(round) * 1_000_000 + i;
  const callId = 'crash-' + round + '-' + i;
  return storage.cdrs.insert({ callId, direction: 'internal', callerNumber: '201', callerName: null,
    calleeNumber: '202', calleeName: null, dialledNumber: '202', callerExtension: '201', calleeExtension: '202',
    did: null, trunk: null, status: 'answered', startedAt: at, ringingAt: null, answeredAt: at + 1, endedAt: at + 5,
    hangupSide: 'caller', hangupSipStatus: null, hangupReason: null, callType: null, cost: null, recordingPath: null,
    legs: [leg(callId + '-a', '201', at), leg(callId + '-b', '202', at)],
    steps: [{ at, kind: 'note', target: null, endedAt: null, detail: { i } }] })
    // stdout to a pipe is synchronous on POSIX: once written, the parent can see it even if we die next.
    .then(() => process.stdout.write(callId + '\\n'));
};
for (let i = 0; ; i += Number(width)) {
  await Promise.all(Array.from({ length: Number(width) }, (_, j) => insert(i + j)));
}
`;

/** Runs the writer until it has reported `target` commits, then SIGKILLs it; returns the reported call ids. */
function runAndKill(script: string, dataDir: string, round: number, target: number, width: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [script, dataDir, String(round), String(width)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const committed: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer reported ${committed.length}/${target} commits in time; stderr: ${stderr}`));
    }, 25_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      committed.push(...lines);
      if (!killed && committed.length >= target) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${signal}); stderr: ${stderr}`));
      else resolve(committed);
    });
  });
}

describe.skipIf(!built)('sqlite storage: crash durability', () => {
  it('keeps every reported commit across SIGKILLs, with an intact database', async () => {
    const script = join(root, 'writer.mjs');
    writeFileSync(script, writerSource);
    const dataDir = join(root, 'data');
    const reported: string[] = [];
    // Several rounds on one file: each restart also recovers the WAL the previous kill left behind.
    // Rounds 0-2 write one record at a time; rounds 3-4 write 16 at once, so the kill lands inside group commits.
    const rounds: [number, number][] = [
      [60, 1],
      [137, 1],
      [211, 1],
      [300, 16],
      [517, 16],
    ];
    for (const [round, [target, width]] of rounds.entries()) {
      reported.push(...(await runAndKill(script, dataDir, round, target, width)));
    }
    expect(reported.length).toBeGreaterThanOrEqual(60 + 137 + 211 + 300 + 517);

    const storage = openSqliteStorage(dataDir);
    try {
      expect(storage.integrityCheck()).toEqual(['ok']);
      for (const callId of reported) {
        const record = await storage.cdrs.get(callId);
        expect(record?.callId, `${callId} was reported committed`).toBe(callId);
        expect(record?.legs.map((l) => l.legId)).toEqual([`${callId}-a`, `${callId}-b`]);
        expect(record?.steps[0]?.detail).toEqual({ i: Number(callId.split('-')[2]) });
      }
      // Nothing half-written: every stored call has both legs and its step (a commit is all or nothing).
      const orphans = storage.db
        .prepare(
          `SELECT c.call_id FROM cdrs c WHERE (SELECT count(*) FROM cdr_legs l WHERE l.call_id = c.call_id) <> 2
             OR (SELECT count(*) FROM cdr_steps s WHERE s.call_id = c.call_id) <> 1`,
        )
        .all();
      expect(orphans).toEqual([]);
      // Records beyond the last report may exist (committed, killed before printing), but never fewer.
      expect(await storage.cdrs.count({})).toBeGreaterThanOrEqual(reported.length);
      expect(await storage.cdrs.count({ from: T0, to: T0 + 1_000_000 })).toBeGreaterThanOrEqual(60);
    } finally {
      await storage.close();
    }
  });
});
