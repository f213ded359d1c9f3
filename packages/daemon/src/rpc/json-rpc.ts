// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over newline-delimited JSON streams: the admin socket's
// protocol. Methods are registered with a JSON Schema for their params, so a bad call gets -32602 naming the field.
import { Ajv, type ValidateFunction } from 'ajv';

export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Application errors (-32000 to -32099 are reserved for the server). */
  NotFound: -32004,
  Conflict: -32009,
  Unauthorized: -32001,
} as const;

/** An error a method throws to answer with a JSON-RPC error object. */
export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'JsonRpcError';
  }
}

/** One connected client: where notifications for its subscriptions go, and what to clean up when it leaves. */
export interface JsonRpcSession {
  readonly id: number;
  notify(method: string, params: unknown): void;
  /** Called once when the client disconnects. */
  onClose(fn: () => void): void;
}

export interface JsonRpcMethod<P = unknown, R = unknown> {
  readonly description: string;
  /** JSON Schema of `params` (an object); omitted means no params. */
  readonly params?: Record<string, unknown>;
  /** JSON Schema of the result, for the docs (not enforced). */
  readonly result?: Record<string, unknown>;
  readonly handler: (params: P, session: JsonRpcSession) => R | Promise<R>;
}

type JsonRpcId = string | number | null;

interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Method registry and dispatcher; transports feed it lines and write back what it returns. */
export class JsonRpcServer {
  private readonly methods = new Map<string, { method: JsonRpcMethod<never>; validate?: ValidateFunction }>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  register<P, R>(name: string, method: JsonRpcMethod<P, R>): void {
    const validate = method.params ? this.ajv.compile(method.params) : undefined;
    this.methods.set(name, { method: method as unknown as JsonRpcMethod<never>, validate });
  }

  /** Every method with its description and params schema (what `rpc.discover` returns and the docs are made from). */
  describe(): Array<{
    name: string;
    description: string;
    params?: Record<string, unknown>;
    result?: Record<string, unknown>;
  }> {
    return [...this.methods.entries()]
      .map(([name, { method }]) => ({
        name,
        description: method.description,
        params: method.params,
        result: method.result,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Handles one line of input; returns the line to write back, or undefined (notifications get no answer). */
  async handleLine(line: string, session: JsonRpcSession): Promise<string | undefined> {
    let payload: unknown;
    try {
      payload = JSON.parse(line);
    } catch {
      return JSON.stringify(errorResponse(null, JsonRpcErrorCode.ParseError, 'Parse error: not valid JSON'));
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0)
        return JSON.stringify(errorResponse(null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: empty batch'));
      const answers = (await Promise.all(payload.map((p) => this.handleOne(p, session)))).filter(
        (a): a is JsonRpcResponse => a !== undefined,
      );
      return answers.length > 0 ? JSON.stringify(answers) : undefined;
    }
    const answer = await this.handleOne(payload, session);
    return answer === undefined ? undefined : JSON.stringify(answer);
  }

  private async handleOne(payload: unknown, session: JsonRpcSession): Promise<JsonRpcResponse | undefined> {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return errorResponse(null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: not an object');
    }
    const req = payload as Record<string, unknown>;
    const hasId = 'id' in req;
    const id = req.id;
    if (hasId && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      return errorResponse(null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: id must be a string or number');
    }
    const rid = (hasId ? id : null) as JsonRpcId;
    if (req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
      return errorResponse(rid, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: needs jsonrpc "2.0" and a method');
    }
    const entry = this.methods.get(req.method);
    if (!entry) {
      return hasId ? errorResponse(rid, JsonRpcErrorCode.MethodNotFound, `Method not found: ${req.method}`) : undefined;
    }
    const params = req.params ?? {};
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return errorResponse(rid, JsonRpcErrorCode.InvalidParams, 'Invalid params: must be an object of named params');
    }
    if (entry.validate && !entry.validate(params)) {
      const problems = (entry.validate.errors ?? []).map((e) => {
        const field =
          e.keyword === 'required'
            ? `${e.instancePath}/${e.params.missingProperty}`
            : e.keyword === 'additionalProperties'
              ? `${e.instancePath}/${e.params.additionalProperty}`
              : e.instancePath || '/';
        const what =
          e.keyword === 'required'
            ? 'is required'
            : e.keyword === 'additionalProperties'
              ? 'is not a known parameter'
              : e.message;
        return { field: field.replace(/^\//, '').replace(/\//g, '.') || '(params)', message: what };
      });
      return errorResponse(
        rid,
        JsonRpcErrorCode.InvalidParams,
        `Invalid params: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
        problems,
      );
    }
    try {
      const result = await entry.method.handler(params as never, session);
      return hasId ? { jsonrpc: '2.0', id: rid, result: result ?? null } : undefined;
    } catch (err) {
      if (!hasId) return undefined;
      if (err instanceof JsonRpcError) return errorResponse(rid, err.code, err.message, err.data);
      return errorResponse(rid, JsonRpcErrorCode.InternalError, `Internal error: ${(err as Error).message}`);
    }
  }
}

function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}
