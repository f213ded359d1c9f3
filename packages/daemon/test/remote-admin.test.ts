// The admin interface over TCP and WebSocket: a good token is served, a bad or missing one is refused before any
// method runs; `switchyard ctl --url` speaks both.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { main } from '../src/cli.js';
import { AdminConnectionError, callAdmin } from '../src/rpc/admin-client.js';
import { JsonRpcServer } from '../src/rpc/json-rpc.js';
import { AdminTcpServer, AdminWebSocketServer, BearerToken, RemoteAdmin } from '../src/rpc/remote-admin.js';

const TOKEN = 'a-long-enough-admin-token-0123';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function rpcWithCounter(): { rpc: JsonRpcServer; calls: () => number } {
  const rpc = new JsonRpcServer();
  let calls = 0;
  rpc.register('ping', {
    description: 'Answers pong.',
    handler: () => {
      calls++;
      return 'pong';
    },
  });
  return { rpc, calls: () => calls };
}

async function tcpServer(rpc: JsonRpcServer): Promise<string> {
  const server = new AdminTcpServer(rpc, new BearerToken(TOKEN));
  const a = await server.listen('127.0.0.1', 0);
  closers.push(() => server.close());
  return `tcp://127.0.0.1:${a.port}`;
}

async function wsServer(rpc: JsonRpcServer): Promise<string> {
  const server = new AdminWebSocketServer(rpc, new BearerToken(TOKEN));
  const a = await server.listen('127.0.0.1', 0);
  closers.push(() => server.close());
  return `ws://127.0.0.1:${a.port}`;
}

/** Sends raw text over TCP and collects what comes back until the server closes (or the first line, if asked). */
function rawTcp(url: string, text: string, firstLineOnly = false): Promise<string> {
  const port = Number(url.split(':').at(-1));
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(port, '127.0.0.1', () => s.write(text));
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      if (firstLineOnly && got.includes('\n')) s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 3000);
  });
}

describe('BearerToken', () => {
  it('matches the exact token only, in a Bearer header with any scheme case', () => {
    const t = new BearerToken(TOKEN);
    expect(t.matches(TOKEN)).toBe(true);
    expect(t.matches(`${TOKEN}x`)).toBe(false);
    expect(t.matches('')).toBe(false);
    expect(t.matchesHeader(`Bearer ${TOKEN}`)).toBe(true);
    expect(t.matchesHeader(`bearer ${TOKEN}`)).toBe(true);
    expect(t.matchesHeader(`Basic ${TOKEN}`)).toBe(false);
    expect(t.matchesHeader(undefined)).toBe(false);
    expect(t.matchesHeader('Bearer')).toBe(false);
  });
});

describe.each(['tcp', 'ws'] as const)('the admin interface over %s', (kind) => {
  const serve = kind === 'tcp' ? tcpServer : wsServer;

  it('serves a client with the right token', async () => {
    const { rpc, calls } = rpcWithCounter();
    const url = await serve(rpc);
    expect(await callAdmin(url, 'ping', {}, { token: TOKEN })).toMatchObject({ result: 'pong' });
    expect(calls()).toBe(1);
  });

  it('refuses a wrong token and a missing one before any method runs', async () => {
    const { rpc, calls } = rpcWithCounter();
    const url = await serve(rpc);
    for (const token of ['wrong-token', undefined]) {
      const err = await callAdmin(url, 'ping', {}, { token }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdminConnectionError);
      expect((err as AdminConnectionError).status).toBe(401);
    }
    expect(calls()).toBe(0);
  });
});

describe('framing details', () => {
  it('TCP: a request in place of the Authorization line is refused with -32001 and the connection closed', async () => {
    const { rpc, calls } = rpcWithCounter();
    const url = await tcpServer(rpc);
    const got = await rawTcp(
      url,
      '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n',
    );
    expect(JSON.parse(got.trim())).toMatchObject({ id: null, error: { code: -32001 } });
    expect(calls()).toBe(0);
    const ok = await rawTcp(url, `authorization:   Bearer ${TOKEN}\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n`, true);
    expect(JSON.parse(ok.split('\n')[0])).toEqual({ jsonrpc: '2.0', id: 7, result: 'pong' });
  });

  it('WebSocket: the upgrade without a token is answered 401 with WWW-Authenticate', async () => {
    const { rpc } = rpcWithCounter();
    const url = await wsServer(rpc);
    const status = await new Promise<{ code?: number; challenge?: string }>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => {
        resolve({ code: res.statusCode, challenge: res.headers['www-authenticate'] });
        ws.terminate();
      });
      ws.on('open', () => resolve({}));
      ws.on('error', () => {});
    });
    expect(status).toEqual({ code: 401, challenge: 'Bearer' });
  });

  it('streams events.subscribe-style notifications over WebSocket', async () => {
    const rpc = new JsonRpcServer();
    rpc.register('tick', {
      description: 'Sends one notification.',
      handler: (_p, session) => {
        setTimeout(() => session.notify('event', { n: 1 }), 10);
        return { subscribed: true };
      },
    });
    const url = await wsServer(rpc);
    const messages = await new Promise<unknown[]>((resolve, reject) => {
      const got: unknown[] = [];
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      ws.on('open', () => ws.send('{"jsonrpc":"2.0","id":1,"method":"tick"}'));
      ws.on('message', (d) => {
        got.push(JSON.parse(String(d)));
        if (got.length === 2) {
          ws.close();
          resolve(got);
        }
      });
      ws.on('error', reject);
    });
    expect(messages).toEqual([
      { jsonrpc: '2.0', id: 1, result: { subscribed: true } },
      { jsonrpc: '2.0', method: 'event', params: { n: 1 } },
    ]);
  });
});

describe('RemoteAdmin and switchyard ctl --url', () => {
  it('starts what the config names and ctl reaches both with --token or SWITCHYARD_TOKEN', async () => {
    const { rpc } = rpcWithCounter();
    const remote = await RemoteAdmin.start(
      rpc,
      { socket: '/unused', tcp: '127.0.0.1:0', ws: '127.0.0.1:0', token: TOKEN },
      () => {},
    );
    closers.push(() => remote.close());
    expect(remote.endpoints).toHaveLength(2);
    for (const url of remote.endpoints) {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
      expect(await main(['ctl', '--url', url, '--token', TOKEN, 'ping'], io)).toBe(0);
      expect(JSON.parse(out.join(''))).toBe('pong');
      expect(await main(['ctl', '--url', url, '--token', 'nope', 'ping'], io)).toBe(1);
      expect(err.join('')).toContain('401');
      process.env.SWITCHYARD_TOKEN = TOKEN;
      try {
        expect(await main(['ctl', '--url', url, 'ping'], io)).toBe(0);
      } finally {
        delete process.env.SWITCHYARD_TOKEN;
      }
    }
  });

  it('refuses to start a network listener without a token', async () => {
    const { rpc } = rpcWithCounter();
    await expect(RemoteAdmin.start(rpc, { socket: '/unused', tcp: '127.0.0.1:0' }, () => {})).rejects.toThrow(/token/);
  });
});
