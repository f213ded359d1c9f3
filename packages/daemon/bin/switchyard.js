#!/usr/bin/env node
// The `switchyard` command. A committed shim, so npm can link and mark it executable before the build exists.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
