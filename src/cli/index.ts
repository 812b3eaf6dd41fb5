// cli: `waygate serve | translate`. Parses arguments and calls the composition root.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONTROLLER_NAME, serve, translateCommand } from '../main.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function workerCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('expected a whole number from 0 to 256 (0: a single process)');
  return n;
}

export function buildProgram(entry: string, argv: readonly string[]): Command {
  const program = new Command('waygate')
    .description('Kubernetes Gateway API gateway with an embedded proxy that takes every change live without dropping a request')
    .showHelpAfterError();

  program
    .command('serve')
    .description('serve the Gateways described by manifests, watching them for changes')
    .requiredOption('--manifests <file-or-dir>', 'YAML/JSON manifests, a file or a directory (read recursively); repeatable', collect, [])
    .option('--admin-address <host:port>', 'admin API address (loopback unless told otherwise)', '127.0.0.1:9901')
    .option('--workers <n>', 'proxy worker processes (default: one per core; 0: a single process)', workerCount)
    .option('--listen-address <ip>', 'address for the listeners of Gateways without spec.addresses', '0.0.0.0')
    .option('--controller-name <name>', 'GatewayClass spec.controllerName that Waygate serves', DEFAULT_CONTROLLER_NAME)
    .action(async (opts) => {
      await serve({ ...opts, entry, args: argv.slice(2) });
    });

  program
    .command('translate')
    .description('print the status of every object and the configuration (IR) that serve would run, offline')
    .requiredOption('--manifests <file-or-dir>', 'YAML/JSON manifests, a file or a directory (read recursively); repeatable', collect, [])
    .addOption(new Option('--output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--listen-address <ip>', 'address for the listeners of Gateways without spec.addresses', '0.0.0.0')
    .option('--controller-name <name>', 'GatewayClass spec.controllerName that Waygate serves', DEFAULT_CONTROLLER_NAME)
    .action(async (opts) => {
      const { text, errors } = await translateCommand(opts);
      process.stdout.write(text);
      for (const e of errors) process.stderr.write(`error: ${e}\n`);
      if (errors.length > 0) process.exitCode = 1;
    });

  return program;
}

export async function runCli(entry: string, argv: readonly string[]): Promise<void> {
  try {
    await buildProgram(entry, argv).parseAsync([...argv]);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
