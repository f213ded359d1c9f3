// The admin socket: JSON-RPC lines over a Unix socket created owner-only (file permissions are the access control).
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { JsonRpcServer } from './json-rpc.js';
import { callOverLine } from './line-call.js';
import { serveLineSession } from './line-session.js';

export class AdminSocketServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private nextSession = 1;

  constructor(
    private readonly rpc: JsonRpcServer,
    readonly path: string,
  ) {}

  async listen(): Promise<void> {
    // A socket file left by a crashed run is removed; anything else at that path is not ours to delete.
    if (existsSync(this.path)) {
      if (!lstatSync(this.path).isSocket()) throw new Error(`${this.path} exists and is not a socket`);
      unlinkSync(this.path);
    }
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket file is bound synchronously inside listen(): a umask of 0177 makes it owner-only from birth.
      const umask = process.umask(0o177);
      try {
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(this.path, 0o600);
    server.on('error', () => {});
    this.server = server;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    serveLineSession(this.rpc, socket, this.nextSession++);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}

/** Calls one method over the admin socket and resolves with its result (what `switchyard ctl` does). */
export function callAdminSocket(
  path: string,
  method: string,
  params: unknown,
  timeoutMs = 10_000,
): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  return callOverLine({
    connect: (socket, connected) => socket.connect(path, connected),
    request: `${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`,
    name: path,
    timeoutMs,
    failure: (message, cause) => cause ?? new Error(message),
  }) as Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>;
}
