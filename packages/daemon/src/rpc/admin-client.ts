// The client side of the admin interface, as `switchyard ctl` uses it: one call over the Unix socket, TCP or
// WebSocket (the last two with a bearer token).
import { WebSocket } from 'ws';
import { parseHostPort } from '../config.js';
import { callOverLine } from './line-call.js';
import { callAdminSocket } from './socket-server.js';

export interface AdminAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface AdminCallOptions {
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** The admin endpoint could not be reached or refused us (bad token: status 401). */
export class AdminConnectionError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AdminConnectionError';
  }
}

/** Calls one method at `target`: a Unix socket path, `tcp://host:port` or `ws://host:port`. */
export function callAdmin(
  target: string,
  method: string,
  params: unknown,
  options: AdminCallOptions = {},
): Promise<AdminAnswer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const request = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  if (target.startsWith('tcp://')) return callTcp(target, request, options.token, timeoutMs);
  if (target.startsWith('ws://')) return callWebSocket(target, request, options.token, timeoutMs);
  return callAdminSocket(target, method, params, timeoutMs);
}

function callTcp(url: string, request: string, token: string | undefined, timeoutMs: number): Promise<AdminAnswer> {
  const hp = parseHostPort(url.slice('tcp://'.length).replace(/\/$/, ''));
  if (!hp) return Promise.reject(new AdminConnectionError(`${url} is not tcp://address:port`));
  const answer = callOverLine({
    connect: (socket, connected) => socket.connect(hp.port, hp.host, connected),
    request: `Authorization: Bearer ${token ?? ''}\n${request}\n`,
    name: url,
    timeoutMs,
    failure: (message) => new AdminConnectionError(message),
  });
  return answer.then((a) => {
    const reply = a as AdminAnswer;
    if (reply.error?.code === -32001) throw new AdminConnectionError(reply.error.message, 401);
    return reply;
  });
}

function callWebSocket(
  url: string,
  request: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<AdminAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new AdminConnectionError(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(
        new AdminConnectionError(`${url} answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim(), res.statusCode),
      );
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(new AdminConnectionError(err.message));
    });
    ws.on('open', () => ws.send(request));
    ws.on('message', (data) => {
      clearTimeout(timer);
      ws.close();
      try {
        resolve(JSON.parse(String(data)) as AdminAnswer);
      } catch (err) {
        reject(err);
      }
    });
  });
}
