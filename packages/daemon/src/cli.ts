#!/usr/bin/env node
// The `switchyard` command: start, ctl, check-config.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type SwitchyardConfig } from './config.js';
import { Daemon, demoConfig } from './daemon.js';
import { batchedLines, jsonLog, logLevelOf } from './log.js';
import { AdminConnectionError, callAdmin } from './rpc/admin-client.js';

const USAGE = `usage:
  switchyard start [--config FILE]          run in the foreground
  switchyard ctl [--socket PATH | --url tcp://HOST:PORT | --url ws://HOST:PORT] [--token TOKEN]
                METHOD [JSON-PARAMS]        call a JSON-RPC method on the admin socket (or over TCP or
                                            WebSocket with a bearer token; SWITCHYARD_TOKEN also gives it)
  switchyard check-config FILE              validate a config file and report every problem
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}

async function ctl(args: string[], io: CliIo): Promise<number> {
  const url = option(args, '--url') ?? process.env.SWITCHYARD_URL;
  const socket = option(args, '--socket') ?? process.env.SWITCHYARD_SOCKET ?? '/var/lib/switchyard/admin.sock';
  const token = option(args, '--token') ?? process.env.SWITCHYARD_TOKEN;
  const target = url ?? socket;
  if (url !== undefined && !url.startsWith('tcp://') && !url.startsWith('ws://')) {
    io.err(`switchyard ctl: --url must be tcp://HOST:PORT or ws://HOST:PORT, not ${url}\n`);
    return 2;
  }
  const [method, json] = args;
  if (method === undefined) {
    io.err(USAGE);
    return 2;
  }
  let params: unknown = {};
  if (json !== undefined) {
    try {
      params = JSON.parse(json);
    } catch (err) {
      io.err(`switchyard ctl: params are not valid JSON: ${(err as Error).message}\n`);
      return 2;
    }
  }
  try {
    const answer = await callAdmin(target, method, params, { token });
    if (answer.error) {
      io.err(`error ${answer.error.code}: ${answer.error.message}\n`);
      return 1;
    }
    io.out(`${JSON.stringify(answer.result, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof AdminConnectionError && err.status === 401) {
      io.err(`switchyard ctl: ${target} refused the token (401 Unauthorized): give --token or SWITCHYARD_TOKEN\n`);
      return 1;
    }
    io.err(`switchyard ctl: cannot reach the admin interface ${target}: ${(err as Error).message}\n`);
    return 1;
  }
}

function checkConfig(args: string[], io: CliIo): number {
  const [file] = args;
  if (file === undefined) {
    io.err(USAGE);
    return 2;
  }
  try {
    const config = loadConfig(file);
    io.out(`${file}: ok (${config.sip.listen.length} listen addresses, ${config.extensions.length} extensions)\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function start(args: string[], io: CliIo): Promise<number> {
  const file = option(args, '--config');
  let config: SwitchyardConfig;
  if (file !== undefined) {
    try {
      config = loadConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) {
        io.err(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
  } else {
    const demo = demoConfig();
    config = demo.config;
    io.err(
      `switchyard: no --config given, starting the built-in demo on ${config.sip.listen.join(', ')} (loopback only).\n` +
        'Register a phone as sip:NUMBER@127.0.0.1 with digest user NUMBER and these passwords (shown once):\n' +
        Object.entries(demo.passwords)
          .map(([n, p]) => `  ${n}  ${p}\n`)
          .join('') +
        `Admin: switchyard ctl --socket ${config.admin.socket} status\n`,
    );
  }
  // One write per event-loop turn rather than one per line; what is left is written when the process exits.
  const lines = batchedLines((text) => io.out(text));
  process.once('exit', lines.flush);
  const daemon = new Daemon({
    config,
    ...(file !== undefined ? { configFile: file } : {}),
    log: jsonLog(lines.write, logLevelOf(config, process.env)),
  });
  try {
    await daemon.start();
  } catch (err) {
    lines.flush();
    io.err(`switchyard: cannot start: ${(err as Error).message}\n`);
    await daemon.stop().catch(() => {});
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      const graceMs = signal === 'SIGINT' ? 0 : (daemon.config.shutdown?.drainTimeoutSeconds ?? 30) * 1000;
      daemon.log('info', 'stopping', { signal, activeCalls: daemon.calls.activeCalls.length, graceMs });
      await daemon.drain(graceMs);
      await daemon.stop();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    // SIGHUP: the config file again; a bad one is logged (file, line, field) and the running config stays.
    process.on('SIGHUP', () => {
      if (file === undefined) {
        daemon.log('warn', 'config not reloaded', { error: 'the built-in demo has no config file' });
        return;
      }
      daemon.reloadFromFile().catch((err: unknown) => {
        // A ConfigError is logged where it is found; anything else is logged here.
        if (!(err instanceof ConfigError))
          daemon.log('error', 'config not reloaded', { error: (err as Error).message });
      });
    });
  });
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const args = [...argv];
  const command = args.shift() ?? 'start';
  switch (command) {
    case 'start':
      return start(args, io);
    case 'ctl':
      return ctl(args, io);
    case 'check-config':
      return checkConfig(args, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return 0;
    default:
      io.err(`switchyard: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`switchyard: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
