// One request line out, one answer line back, over a stream socket (Unix or TCP): how `switchyard ctl` talks to the
// line-delimited admin endpoints (see line-session.ts for the server side).
import { Socket } from 'node:net';

export interface LineCall {
  /** Opens the connection; `connected` is called once it is up. */
  readonly connect: (socket: Socket, connected: () => void) => void;
  /** Everything written once connected, newlines included. */
  readonly request: string;
  /** The endpoint, as error messages name it. */
  readonly name: string;
  readonly timeoutMs: number;
  /** The error a failure rejects with: a timeout or early close (`cause` undefined), or the socket's own error. */
  readonly failure: (message: string, cause?: Error) => Error;
}

/** Resolves with the first answer line, parsed as JSON. */
export function callOverLine(call: LineCall): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(call.failure(`no answer from ${call.name} within ${call.timeoutMs} ms`));
    }, call.timeoutMs);
    socket.setEncoding('utf8');
    socket.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(call.failure(err.message, err));
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buffered.slice(0, nl)));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(call.failure(`${call.name} closed the connection without an answer`));
    });
    call.connect(socket, () => socket.write(call.request));
  });
}
