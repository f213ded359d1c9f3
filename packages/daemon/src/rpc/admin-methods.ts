// The admin surface over JSON-RPC: extensions, registrations, calls, call records, status and live events.
// Each method's params are a JSON Schema, so `rpc.discover` documents them and bad calls get -32602.
import { type Extension, isStorageError } from '@switchyard/pbx-core';
import { ConfigError } from '../config.js';
import type { Daemon } from '../daemon.js';
import { JsonRpcError, JsonRpcErrorCode } from './json-rpc.js';

const numberParam = { type: 'string', pattern: '^[0-9*#+]{1,32}$' } as const;
const nullable = (type: string) => ({ type: [type, 'null'] }) as const;
const objectOf = <P extends Record<string, unknown>>(properties: P) => ({ type: 'object', properties }) as const;
const arrayOf = <I extends Record<string, unknown>>(items: I) => ({ type: 'array', items }) as const;
/** Params schema: an object with no other properties than these, `required` of them needed. */
function paramsOf(properties: Record<string, unknown>, required?: readonly string[]): Record<string, unknown> {
  return required === undefined
    ? { type: 'object', additionalProperties: false, properties }
    : { type: 'object', additionalProperties: false, required, properties };
}

// Result schemas: what the docs (docs/admin-api.md, `npm run docs:admin`) say each method returns.
const extensionResult = {
  type: 'object',
  description: 'An extension as the admin interface shows it: never its password, hashes or voicemail PIN.',
  properties: {
    number: { type: 'string' },
    displayName: { type: 'string' },
    email: nullable('string'),
    mobile: nullable('string'),
    role: { enum: ['admin', 'supervisor', 'user', 'report-viewer'] },
    presence: { type: 'string' },
    enabled: { type: 'boolean' },
    forwarding: { type: 'array', items: { type: 'object' } },
    callRules: { type: 'object' },
    restrictionProfileId: nullable('string'),
    createdAt: { type: 'integer', description: 'epoch ms' },
    updatedAt: { type: 'integer', description: 'epoch ms' },
    hasPassword: { type: 'boolean', description: 'whether SIP credentials are set' },
  },
} as const;
const callResult = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { enum: ['routing', 'ringing', 'answered', 'ended'] },
    callerExtension: nullable('string'),
    callerNumber: { type: 'string' },
    dialled: { type: 'string' },
    calleeExtension: nullable('string'),
    startedAt: { type: 'integer', description: 'epoch ms' },
    answeredAt: { type: ['integer', 'null'], description: 'epoch ms' },
    heldBy: { type: 'array', items: { enum: ['caller', 'callee'] }, description: 'who has the call on hold now' },
    heldSince: { type: ['integer', 'null'], description: 'epoch ms the hold began; null when not on hold' },
    media: {
      type: 'object',
      description: "each side's codec and how the PBX bridges them (null until known)",
      properties: {
        callerCodec: nullable('string'),
        calleeCodec: nullable('string'),
        mode: { enum: ['relay', 'transcode', null] },
      },
    },
  },
} as const;

/** What the admin interface shows of an extension: never its secrets. */
function publicExtension(e: Extension) {
  const { sipPassword, ha1Md5, ha1Sha256, ha1Sha512_256, voicemailPin, ...rest } = e;
  return { ...rest, hasPassword: sipPassword !== null || ha1Md5 !== null || ha1Sha256 !== null };
}

async function storage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isStorageError(err)) {
      const code =
        err.code === 'not-found'
          ? JsonRpcErrorCode.NotFound
          : err.code === 'conflict'
            ? JsonRpcErrorCode.Conflict
            : err.code === 'invalid'
              ? JsonRpcErrorCode.InvalidParams
              : JsonRpcErrorCode.InternalError;
      throw new JsonRpcError(code, err.message);
    }
    throw err;
  }
}

export function registerAdminMethods(daemon: Daemon): void {
  const rpc = daemon.rpc;
  const extensionFields = {
    displayName: { type: 'string', maxLength: 128 },
    password: { type: 'string', minLength: 4, maxLength: 128 },
    email: { type: ['string', 'null'] },
    mobile: { type: ['string', 'null'] },
    role: { enum: ['admin', 'supervisor', 'user', 'report-viewer'] },
    enabled: { type: 'boolean' },
  } as const;

  rpc.register('rpc.discover', {
    description: 'Every method with its description and params schema.',
    result: arrayOf(
      objectOf({
        name: { type: 'string' },
        description: { type: 'string' },
        params: { type: 'object' },
        result: { type: 'object' },
      }),
    ),
    handler: () => rpc.describe(),
  });

  rpc.register('status', {
    description:
      'Server status: version, uptime, listen addresses, counts of extensions, devices and calls, media endpoints.',
    result: {
      type: 'object',
      properties: {
        version: { type: 'string' },
        uptimeSeconds: { type: 'integer' },
        listen: { type: 'array', items: { type: 'string' } },
        domain: { type: 'string' },
        extensions: { type: 'integer' },
        registrations: { type: 'integer' },
        activeCalls: { type: 'integer' },
        sip: { type: 'object', description: 'the transport layer counters (received, sent, malformed, dropped...)' },
        media: {
          type: 'object',
          properties: {
            address: { type: 'string', description: 'the address SDP names for RTP' },
            workers: { type: 'integer' },
            endpoints: { type: 'integer', description: 'RTP endpoints open' },
          },
        },
      },
    },
    handler: async () => ({
      version: '0.1.0',
      uptimeSeconds: Math.round((daemon.clock.now() - daemon.startedAt) / 1000),
      listen: daemon.transport.localEndpoints.map((e) => `${e.protocol}://${e.address}:${e.port}`),
      domain: daemon.config.sip.domain,
      extensions: (await daemon.storage.extensions.list()).length,
      registrations: (await daemon.storage.registrations.listAll(daemon.clock.now())).length,
      activeCalls: daemon.calls.activeCalls.length,
      sip: { ...daemon.transport.counters },
      media: {
        address: daemon.media.address,
        workers: daemon.engine.workerCount,
        endpoints: daemon.media.endpointCount,
      },
    }),
  });

  rpc.register('extensions.list', {
    description: 'Every extension, by number (secrets omitted).',
    result: arrayOf(extensionResult),
    handler: async () => (await daemon.storage.extensions.list()).map(publicExtension),
  });

  rpc.register<{ number: string }, unknown>('extensions.get', {
    description: 'One extension by number.',
    params: paramsOf({ number: numberParam }, ['number']),
    result: extensionResult,
    handler: async ({ number }) => {
      const e = await daemon.storage.extensions.get(number);
      if (!e) throw new JsonRpcError(JsonRpcErrorCode.NotFound, `no extension ${number}`);
      return publicExtension(e);
    },
  });

  rpc.register<
    {
      number: string;
      displayName?: string;
      password: string;
      email?: string;
      mobile?: string;
      role?: Extension['role'];
    },
    unknown
  >('extensions.create', {
    description: 'Creates an extension with its SIP password.',
    params: paramsOf({ number: numberParam, ...extensionFields }, ['number', 'password']),
    result: extensionResult,
    handler: async (p) =>
      publicExtension(
        await storage(() =>
          daemon.storage.extensions.create({
            number: p.number,
            displayName: p.displayName ?? p.number,
            sipPassword: p.password,
            email: p.email ?? null,
            mobile: p.mobile ?? null,
            role: p.role ?? 'user',
          }),
        ),
      ),
  });

  rpc.register<{ number: string; password?: string } & Record<string, unknown>, unknown>('extensions.update', {
    description: 'Changes an extension (any of its fields but the number).',
    params: paramsOf({ number: numberParam, ...extensionFields }, ['number']),
    result: extensionResult,
    handler: async ({ number, password, ...rest }) =>
      publicExtension(
        await storage(() =>
          daemon.storage.extensions.update(number, {
            ...(rest as Partial<Extension>),
            ...(password !== undefined ? { sipPassword: password } : {}),
          }),
        ),
      ),
  });

  rpc.register<{ number: string }, { deleted: boolean }>('extensions.delete', {
    description: 'Deletes an extension and its registrations; its call records are kept.',
    params: paramsOf({ number: numberParam }, ['number']),
    result: objectOf({ deleted: { type: 'boolean' } }),
    handler: async ({ number }) => ({ deleted: await storage(() => daemon.storage.extensions.delete(number)) }),
  });

  rpc.register<{ extension?: string }, unknown>('registrations.list', {
    description: 'Registered devices, of one extension or of all.',
    params: paramsOf({ extension: numberParam }),
    result: arrayOf(
      objectOf({
        extension: { type: 'string' },
        contact: { type: 'string' },
        transport: { enum: ['udp', 'tcp', 'tls', 'ws', 'wss'] },
        source: { type: 'string', description: 'address:port the REGISTER came from' },
        userAgent: nullable('string'),
        expiresInSeconds: { type: 'integer' },
      }),
    ),
    handler: async ({ extension }) => {
      const now = daemon.clock.now();
      const rows = extension
        ? await daemon.storage.registrations.list(extension, now)
        : await daemon.storage.registrations.listAll(now);
      return rows.map((r) => ({
        extension: r.extension,
        contact: r.contactUri,
        transport: r.transport,
        source: `${r.sourceAddress}:${r.sourcePort}`,
        userAgent: r.userAgent,
        expiresInSeconds: Math.max(0, Math.round((r.expiresAt - now) / 1000)),
      }));
    },
  });

  rpc.register('calls.list', {
    description: 'Calls in progress, with their anchored media (both codecs, relay or transcode).',
    result: arrayOf(callResult),
    handler: () => daemon.calls.activeCalls.map((c) => c.snapshot()),
  });

  rpc.register<{ id: string }, { hungUp: boolean }>('calls.hangup', {
    description: 'Hangs up a call in progress.',
    params: paramsOf({ id: { type: 'string' } }, ['id']),
    result: objectOf({ hungUp: { type: 'boolean' } }),
    handler: async ({ id }) => {
      const call = daemon.calls.call(id);
      if (!call) throw new JsonRpcError(JsonRpcErrorCode.NotFound, `no call ${id}`);
      await call.hangup();
      return { hungUp: true };
    },
  });

  rpc.register<
    { from?: number; to?: number; extension?: string; limit?: number; cursor?: string; order?: 'asc' | 'desc' },
    unknown
  >('cdrs.query', {
    description: 'Call records by time range (epoch ms, from inclusive, to exclusive) and extension, paged.',
    params: paramsOf({
      from: { type: 'integer', minimum: 0 },
      to: { type: 'integer', minimum: 0 },
      extension: numberParam,
      limit: { type: 'integer', minimum: 1, maximum: 10000 },
      cursor: { type: 'string' },
      order: { enum: ['asc', 'desc'] },
    }),
    result: {
      type: 'object',
      properties: {
        records: {
          type: 'array',
          items: { type: 'object', description: 'a call record with its legs (see the CDR schema)' },
        },
        nextCursor: { type: ['string', 'null'], description: 'pass as cursor for the next page; null on the last' },
      },
    },
    handler: (q) => storage(() => daemon.storage.cdrs.query(q)),
  });

  rpc.register('config.reload', {
    description:
      'Reads the config file again and applies it, as SIGHUP does. Settings that change live take effect now (extensions, log.level, security.authFailures, sip.digestAlgorithms, admin.token/tokenFile, metrics.listen, media.announce, media.musicOnHold, shutdown.drainTimeoutSeconds); the ones bound at start (sip.listen, sip.tls, sip.domain, data, admin.socket/tcp/ws, media.address/rtpPorts/workers) keep their running values until a restart and are listed. A file that does not validate changes nothing: the error (-32602) names file, line and field in `data.problems`.',
    result: objectOf({
      changed: { type: 'array', items: { type: 'string' }, description: 'settings applied, by dotted path' },
      needsRestart: {
        type: 'array',
        items: { type: 'string' },
        description: 'settings that differ from the running ones and take effect only after a restart',
      },
    }),
    handler: async () => {
      try {
        return await daemon.reloadFromFile();
      } catch (err) {
        if (err instanceof ConfigError) {
          throw new JsonRpcError(JsonRpcErrorCode.InvalidParams, err.message, {
            file: err.file,
            problems: err.problems,
          });
        }
        throw new JsonRpcError(JsonRpcErrorCode.InternalError, (err as Error).message);
      }
    },
  });

  rpc.register('events.subscribe', {
    description:
      'Streams live events on this connection as `event` notifications until it closes: `call.started`, `call.ringing`, `call.answered` (params `{type, call}`, call as in calls.list), `call.held` and `call.resumed` (`{type, call, by}`, by `caller` or `callee`: who put the other on hold, which hears music on hold meanwhile), `call.ended` (`{type, call, record}`, record as in cdrs.query) and `extension.registrations` (`{type, extension, devices}`).',
    result: objectOf({ subscribed: { type: 'boolean' } }),
    handler: (_params, session) => {
      const unsubscribe = daemon.subscribe((event) => session.notify('event', event));
      session.onClose(unsubscribe);
      return { subscribed: true };
    },
  });
}
