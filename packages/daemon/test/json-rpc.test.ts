import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonRpcError, JsonRpcErrorCode, JsonRpcServer, type JsonRpcSession } from '../src/rpc/json-rpc.js';
import { AdminSocketServer, callAdminSocket } from '../src/rpc/socket-server.js';

function server(): JsonRpcServer {
  const rpc = new JsonRpcServer();
  rpc.register<{ a: number; b: number }, number>('math.add', {
    description: 'Adds two numbers',
    params: {
      type: 'object',
      additionalProperties: false,
      required: ['a', 'b'],
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    },
    handler: ({ a, b }) => a + b,
  });
  rpc.register('things.get', {
    description: 'Fails with a typed error',
    handler: () => {
      throw new JsonRpcError(JsonRpcErrorCode.NotFound, 'no such thing');
    },
  });
  rpc.register('boom', {
    description: 'Fails with an untyped error',
    handler: () => {
      throw new Error('kaput');
    },
  });
  return rpc;
}

const session: JsonRpcSession = { id: 1, notify: () => {}, onClose: () => {} };
const call = async (rpc: JsonRpcServer, line: string) => {
  const out = await rpc.handleLine(line, session);
  return out === undefined ? undefined : JSON.parse(out);
};

describe('JsonRpcServer', () => {
  const rpc = server();
  it('answers a call', async () => {
    expect(await call(rpc, '{"jsonrpc":"2.0","id":7,"method":"math.add","params":{"a":2,"b":3}}')).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: 5,
    });
  });
  it('answers each kind of bad call with its JSON-RPC error', async () => {
    expect((await call(rpc, '{not json')).error.code).toBe(-32700);
    expect((await call(rpc, '"hello"')).error.code).toBe(-32600);
    expect((await call(rpc, '{"jsonrpc":"1.0","id":1,"method":"math.add"}')).error.code).toBe(-32600);
    expect((await call(rpc, '[]')).error.code).toBe(-32600);
    expect((await call(rpc, '{"jsonrpc":"2.0","id":1,"method":"nope"}')).error.code).toBe(-32601);
    const bad = await call(rpc, '{"jsonrpc":"2.0","id":1,"method":"math.add","params":{"a":"x","c":1}}');
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.message).toMatch(/a must be number/);
    expect(bad.error.message).toMatch(/b is required/);
    expect(bad.error.message).toMatch(/c is not a known parameter/);
    expect((await call(rpc, '{"jsonrpc":"2.0","id":1,"method":"math.add","params":[1,2]}')).error.code).toBe(-32602);
    expect((await call(rpc, '{"jsonrpc":"2.0","id":1,"method":"things.get"}')).error).toEqual({
      code: -32004,
      message: 'no such thing',
    });
    expect((await call(rpc, '{"jsonrpc":"2.0","id":1,"method":"boom"}')).error.code).toBe(-32603);
  });
  it('gives notifications no answer and answers batches', async () => {
    expect(await call(rpc, '{"jsonrpc":"2.0","method":"math.add","params":{"a":1,"b":1}}')).toBeUndefined();
    const batch = await call(
      rpc,
      '[{"jsonrpc":"2.0","id":1,"method":"math.add","params":{"a":1,"b":1}},{"jsonrpc":"2.0","method":"boom"},{"jsonrpc":"2.0","id":2,"method":"nope"}]',
    );
    expect(batch).toHaveLength(2);
    expect(batch[0].result).toBe(2);
    expect(batch[1].error.code).toBe(-32601);
  });
});

describe('AdminSocketServer', () => {
  it('serves calls over an owner-only Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-admin-'));
    const path = join(dir, 'admin.sock');
    const admin = new AdminSocketServer(server(), path);
    await admin.listen();
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await callAdminSocket(path, 'math.add', { a: 20, b: 22 })).toMatchObject({ result: 42 });
      expect((await callAdminSocket(path, 'math.add', { a: 1 })).error?.code).toBe(-32602);
    } finally {
      await admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
