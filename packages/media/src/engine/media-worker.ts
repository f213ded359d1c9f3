// Entry script of a media worker thread (compiled to dist/engine/media-worker.js; see worker-url.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { MessageBatch } from './message-batch.js';
import type { MainToWorker, WorkerConfig, WorkerToMain } from './protocol.js';
import { WorkerCore } from './worker-core.js';

const port = parentPort;
if (port) {
  // Responses and events of one turn go out as one message; one that transfers a buffer goes after them, alone.
  const batch = new MessageBatch<WorkerToMain>((list) =>
    port.postMessage(list.length === 1 ? list[0] : ({ kind: 'batch', list } satisfies WorkerToMain)),
  );
  const core = new WorkerCore(workerData as WorkerConfig, {
    post: (msg: WorkerToMain, transfer?: ArrayBuffer[]) => {
      if (transfer === undefined || transfer.length === 0) return batch.add(msg);
      batch.flush();
      port.postMessage(msg, transfer);
    },
    exit: (code: number) => process.exit(code),
  });
  port.on('message', (msg: MainToWorker) => core.handle(msg));
  port.postMessage({ kind: 'ready' } satisfies WorkerToMain);
}
