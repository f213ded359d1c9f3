#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function main(argv: readonly string[]): Promise<number> {
  const [command = 'start'] = argv;
  switch (command) {
    case 'start':
      process.stdout.write(
        'switchyard: the daemon is not built yet; the SIP message layer (@switchyard/sip-stack) is available as a library.\n',
      );
      return 0;
    default:
      process.stderr.write(`switchyard: unknown command '${command}'\nusage: switchyard start\n`);
      return 2;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
