// Entry script of a media worker thread (compiled to dist/engine/media-worker.js; see worker-url.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { MainToWorker, WorkerConfig, WorkerToMain } from './protocol.js';
import { WorkerCore } from './worker-core.js';

const port = parentPort;
if (port) {
  const core = new WorkerCore(workerData as WorkerConfig, {
    post: (msg: WorkerToMain, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer),
    exit: (code: number) => process.exit(code),
  });
  port.on('message', (msg: MainToWorker) => core.handle(msg));
  port.postMessage({ kind: 'ready' } satisfies WorkerToMain);
}
