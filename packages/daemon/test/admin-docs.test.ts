// docs/admin-api.md is generated from the admin methods: this fails when someone changes a method and forgets
// `npm run docs:admin`, and when a method lacks its description or result schema.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../src/daemon.js';
import { adminApiMarkdown } from '../src/rpc/admin-docs.js';
import { registerAdminMethods } from '../src/rpc/admin-methods.js';
import { JsonRpcServer } from '../src/rpc/json-rpc.js';

const docFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'admin-api.md');

describe('the admin API reference', () => {
  it('is up to date with the method definitions (run `npm run docs:admin` if not)', () => {
    expect(readFileSync(docFile, 'utf8')).toBe(adminApiMarkdown());
  });

  it('documents every method: a description, a result schema, and each param', () => {
    const rpc = new JsonRpcServer();
    registerAdminMethods({ rpc } as unknown as Daemon);
    const doc = adminApiMarkdown();
    for (const m of rpc.describe()) {
      expect(m.description.length, m.name).toBeGreaterThan(10);
      expect(m.result, m.name).toBeDefined();
      expect(doc).toContain(`### ${m.name}\n\n${m.description}\n`);
      for (const p of Object.keys((m.params?.properties ?? {}) as object)) expect(doc).toContain(`| \`${p}\` |`);
    }
  });
});
