// The admin interface over the network: JSON-RPC over TCP (newline-delimited, like the Unix socket) and over
// WebSocket (one JSON-RPC message per text frame), both behind a bearer token (RFC 6750).
// TCP framing: the client's first line is `Authorization: Bearer TOKEN`; a wrong or missing token gets a JSON-RPC
// error (-32001) and the connection is closed. WebSocket: the upgrade request carries `Authorization: Bearer TOKEN`,
// else it is answered 401 and never upgraded.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AdminConfig } from '../config.js';
import { parseHostPort } from '../config.js';
import { JsonRpcErrorCode, type JsonRpcServer, type JsonRpcSession } from './json-rpc.js';
import { errorLine, MAX_LINE_BYTES, serveLineSession } from './line-session.js';

/** A bearer token compared in constant time (both sides hashed first, so lengths do not leak either). */
export class BearerToken {
  private digest: Buffer;

  constructor(token: string) {
    this.digest = BearerToken.hash(token);
  }

  private static hash(token: string): Buffer {
    if (token.length === 0) throw new Error('the admin token is empty');
    return createHash('sha256').update(token).digest();
  }

  /** A config reload's new token: connections from now on must present it (open ones stay). */
  replaceWith(other: BearerToken): void {
    this.digest = other.digest;
  }

  /** The token from `admin.token`, or the first line of `admin.tokenFile`. */
  static fromConfig(admin: AdminConfig): BearerToken | undefined {
    if (admin.token !== undefined) return new BearerToken(admin.token);
    if (admin.tokenFile !== undefined)
      return new BearerToken(readFileSync(admin.tokenFile, 'utf8').split('\n')[0].trim());
    return undefined;
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(this.digest, createHash('sha256').update(candidate).digest());
  }

  /** Checks an `Authorization` header value: `Bearer TOKEN` (scheme case-insensitive, RFC 6750 2.1). */
  matchesHeader(value: string | undefined): boolean {
    const m = value === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
    // Always hash something, so a missing header costs the same as a wrong one.
    return this.matches(m?.[1] ?? '') && m !== null;
  }
}

const nextSessionId = (() => {
  let n = 1_000_000;
  return () => n++;
})();

/** JSON-RPC over TCP: the first line authenticates, then requests and answers one per line. */
export class AdminTcpServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly rpc: JsonRpcServer,
    private readonly token: BearerToken,
  ) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      serveLineSession(this.rpc, socket, nextSessionId(), {
        firstLine: (line) => {
          const colon = line.indexOf(':');
          return (
            colon > 0 &&
            line.slice(0, colon).trim().toLowerCase() === 'authorization' &&
            this.token.matchesHeader(line.slice(colon + 1).trim())
          );
        },
        refusal: errorLine(JsonRpcErrorCode.Unauthorized, 'Unauthorized: send "Authorization: Bearer TOKEN" first'),
      });
    });
    await listenOn(server, host, port);
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** JSON-RPC over WebSocket: the token is checked on the upgrade request. */
export class AdminWebSocketServer {
  private http: HttpServer | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_LINE_BYTES });

  constructor(
    private readonly rpc: JsonRpcServer,
    private readonly token: BearerToken,
  ) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { upgrade: 'websocket' }).end('this endpoint speaks JSON-RPC over WebSocket\n');
    });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      if (!this.token.matchesHeader(req.headers.authorization)) {
        socket.end(
          'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws));
    });
    await listenOn(http, host, port);
    this.http = http;
    return http.address() as AddressInfo;
  }

  private serve(ws: WebSocket): void {
    const closers: Array<() => void> = [];
    const session: JsonRpcSession = {
      id: nextSessionId(),
      notify: (method, params) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
      },
      onClose: (fn) => closers.push(fn),
    };
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data);
      queue = queue.then(async () => {
        const answer = await this.rpc.handleLine(text, session);
        if (answer !== undefined && ws.readyState === ws.OPEN) ws.send(answer);
      });
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      for (const fn of closers) fn();
    });
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    const http = this.http;
    this.http = undefined;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

function listenOn(server: Server | HttpServer, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve();
    });
  });
}

/** The network admin listeners a config asks for (none when it names neither `admin.tcp` nor `admin.ws`). */
export class RemoteAdmin {
  private readonly closers: Array<() => Promise<void>> = [];
  readonly endpoints: string[] = [];
  /** The token the listeners check (undefined when there are none). */
  private token: BearerToken | undefined;

  /** Whether TCP or WebSocket listeners are up (they need a token). */
  get listening(): boolean {
    return this.token !== undefined;
  }

  /** A config reload changed the token: the listeners check the new one from the next connection on. */
  replaceToken(token: BearerToken): void {
    this.token?.replaceWith(token);
  }

  static async start(
    rpc: JsonRpcServer,
    admin: AdminConfig,
    log: (msg: string, fields: Record<string, unknown>) => void,
  ): Promise<RemoteAdmin> {
    const remote = new RemoteAdmin();
    if (admin.tcp === undefined && admin.ws === undefined) return remote;
    const token = BearerToken.fromConfig(admin);
    // The config check refuses this too; this guards a config built in code.
    if (token === undefined) throw new Error('admin.tcp and admin.ws need admin.token or admin.tokenFile');
    remote.token = token;
    try {
      for (const kind of ['tcp', 'ws'] as const) {
        const at = admin[kind];
        if (at === undefined) continue;
        const hp = parseHostPort(at);
        if (!hp) throw new Error(`admin.${kind}: ${at} is not address:port`);
        const server = kind === 'tcp' ? new AdminTcpServer(rpc, token) : new AdminWebSocketServer(rpc, token);
        const a = await server.listen(hp.host, hp.port);
        remote.closers.push(() => server.close());
        const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        const url = `${kind}://${host}:${a.port}`;
        remote.endpoints.push(url);
        log('admin listening', { url });
      }
    } catch (err) {
      await remote.close();
      throw err;
    }
    return remote;
  }

  async close(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((c) => c()));
  }
}
