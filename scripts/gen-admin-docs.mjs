#!/usr/bin/env node
// Writes docs/admin-api.md from the admin methods' descriptions and schemas (run after `tsc -b`).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminApiMarkdown } from '../packages/daemon/dist/rpc/admin-docs.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'admin-api.md');
writeFileSync(target, adminApiMarkdown());
process.stdout.write(`wrote ${target}\n`);
