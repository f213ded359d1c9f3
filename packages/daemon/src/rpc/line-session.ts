// One JSON-RPC client on a byte stream (Unix socket or TCP): newline-delimited JSON both ways, answers in request
// order, subscriptions cleaned up when the client leaves.
import type { Socket } from 'node:net';
import type { JsonRpcServer, JsonRpcSession } from './json-rpc.js';

/** Longest request line accepted; a client that sends more without a newline is cut off. */
export const MAX_LINE_BYTES = 1024 * 1024;

export interface LineSessionOptions {
  /**
   * Checks the first line before any request is taken (the TCP admin's `Authorization: Bearer` line); on false the
   * client gets `refusal` and the connection is closed.
   */
  readonly firstLine?: (line: string) => boolean;
  readonly refusal?: string;
}

export function errorLine(code: number, message: string): string {
  return `${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } })}\n`;
}

export function serveLineSession(
  rpc: JsonRpcServer,
  socket: Socket,
  id: number,
  options: LineSessionOptions = {},
): void {
  const closers: Array<() => void> = [];
  const session: JsonRpcSession = {
    id,
    notify: (method, params) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
    },
    onClose: (fn) => closers.push(fn),
  };
  let admitted = options.firstLine === undefined;
  let buffered = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE_BYTES && !buffered.includes('\n')) {
      socket.end(errorLine(-32600, 'Invalid Request: line too long'));
      return;
    }
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      if (line === '') continue;
      if (!admitted) {
        if (!options.firstLine?.(line)) {
          socket.end(options.refusal ?? errorLine(-32001, 'Unauthorized'));
          buffered = '';
          return;
        }
        admitted = true;
        continue;
      }
      // Answers go out in request order.
      queue = queue.then(async () => {
        const answer = await rpc.handleLine(line, session);
        if (answer !== undefined && !socket.destroyed) socket.write(`${answer}\n`);
      });
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    for (const fn of closers) fn();
  });
}
