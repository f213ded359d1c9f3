// The daemon's config file (YAML or JSON), validated against a JSON Schema; every error names the file, the line
// and the field, because the person reading it is editing that file by hand.
import { readFileSync } from 'node:fs';
import { parseListenUrl } from '@switchyard/sip-stack';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isNode, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

export interface ExtensionConfig {
  number: string;
  name?: string;
  password: string;
  email?: string;
  mobile?: string;
  role?: 'admin' | 'supervisor' | 'user' | 'report-viewer';
}

export interface SwitchyardConfig {
  sip: {
    listen: string[];
    domain: string;
    tls?: { cert: string; key: string; ca?: string };
    userAgent?: string;
    digestAlgorithms?: Array<'MD5' | 'SHA-256' | 'SHA-512-256'>;
  };
  admin: {
    socket: string;
  };
  data: string;
  extensions: ExtensionConfig[];
}

/** The JSON Schema of the config file; `docs` in the README is written from it. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sip', 'data'],
  properties: {
    sip: {
      type: 'object',
      additionalProperties: false,
      required: ['listen', 'domain'],
      properties: {
        listen: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', description: 'udp://, tcp://, tls://, ws:// or wss:// address:port' },
        },
        domain: { type: 'string', minLength: 1, description: 'SIP domain, also the digest realm' },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } },
        },
        userAgent: { type: 'string' },
        digestAlgorithms: { type: 'array', minItems: 1, items: { enum: ['MD5', 'SHA-256', 'SHA-512-256'] } },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['socket'],
      properties: {
        socket: { type: 'string', minLength: 1 },
      },
    },
    data: { type: 'string', minLength: 1 },
    extensions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['number', 'password'],
        properties: {
          number: { type: 'string', pattern: '^[0-9*#+]{1,32}$' },
          name: { type: 'string' },
          password: { type: 'string', minLength: 4 },
          email: { type: 'string' },
          mobile: { type: 'string' },
          role: { enum: ['admin', 'supervisor', 'user', 'report-viewer'] },
        },
      },
    },
  },
} as const;

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `extensions[1].number`. */
  readonly field: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly message: string;
}

/** A config file that cannot be used: each problem names its line and field. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(
      problems
        .map((p) => `${file}${p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.field}: ${p.message}`)
        .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile<SwitchyardConfig>(configSchema);

function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

function describe(e: ErrorObject): { path: (string | number)[]; message: string } {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  switch (e.keyword) {
    case 'required':
      return { path: [...path, e.params.missingProperty], message: 'is required' };
    case 'additionalProperties':
      return { path: [...path, e.params.additionalProperty], message: 'is not a known setting' };
    case 'enum':
      return { path, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { path, message: e.message ?? 'is invalid' };
  }
}

/** Parses and validates config text; `file` names it in errors. */
export function parseConfig(text: string, file: string): SwitchyardConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset));
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return { field: '(syntax)', line: pos?.line, column: pos?.col, message: e.message.split('\n')[0] };
      }),
    );
  }
  const value = doc.toJS() ?? {};
  // The node a path names, or its nearest existing ancestor, for the line number.
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node)) {
        if (n < path.length && (isMap(node) || isSeq(node))) {
          // A missing or unknown key: point at the key itself when it exists.
          const pair = isMap(node) ? node.items.find((p) => isNode(p.key) && String(p.key) === path[n]) : undefined;
          if (pair && isNode(pair.key)) return pair.key;
        }
        return node;
      }
    }
    return undefined;
  };
  const problems: ConfigProblem[] = [];
  const report = (path: (string | number)[], message: string) => {
    const pos = at(nodeAt(path)?.range?.[0]);
    problems.push({ field: fieldName(path), line: pos?.line, column: pos?.col, message });
  };
  if (!validate(value)) {
    for (const e of validate.errors ?? []) {
      const d = describe(e);
      report(d.path, d.message);
    }
    throw new ConfigError(file, problems);
  }
  // Checks JSON Schema cannot express.
  value.sip.listen.forEach((url, i) => {
    try {
      parseListenUrl(url);
    } catch (err) {
      report(['sip', 'listen', i], (err as Error).message);
    }
  });
  const seen = new Map<string, number>();
  (value.extensions ?? []).forEach((ext, i) => {
    const first = seen.get(ext.number);
    if (first !== undefined) report(['extensions', i, 'number'], `duplicates extensions[${first}] (${ext.number})`);
    else seen.set(ext.number, i);
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  value.admin ??= { socket: `${value.data}/admin.sock` };
  value.extensions ??= [];
  return value;
}

export function loadConfig(file: string): SwitchyardConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      { field: '(file)', line: undefined, column: undefined, message: (err as Error).message },
    ]);
  }
  return parseConfig(text, file);
}
