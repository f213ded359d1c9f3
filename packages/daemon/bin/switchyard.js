#!/usr/bin/env -S node --min-semi-space-size=32 --max-semi-space-size=32 --no-parallel-scavenge --initial-old-space-size=64
// The `switchyard` command. A committed shim, so npm can link and mark it executable before the build exists.
// The V8 flags keep garbage-collection pauses short under SIP load (a pause longer than the UDP socket buffer holds
// loses datagrams): a fixed 32 MiB young generation scavenges ~7x less often than the default one, a
// single-threaded scavenge never waits for a helper thread that lost its core, and a 64 MiB floor under the old
// generation's limit spares the full collections V8 otherwise runs every few seconds on a small heap. Measured with
// bench/sip-transactions.bench.mjs; see docs/running-on-a-vps.md to start node by hand with the same flags.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
