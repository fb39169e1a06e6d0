#!/usr/bin/env node
/**
 * The `petrelmq` command: one commander program, one file per command under cli/commands/.
 * Every command has --help and --json; a failure is one line on stderr and a non-zero exit
 * (output.ts). Run `petrelmq --help` for the list.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerConsumer } from './commands/consumer.js';
import { registerGroup } from './commands/group.js';
import { registerMessage } from './commands/message.js';
import { registerNamesrv } from './commands/namesrv.js';
import { registerOffset } from './commands/offset.js';
import { registerStart } from './commands/start.js';
import { registerTopic } from './commands/topic.js';
import { printError } from './output.js';

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>)['version'] : undefined;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function buildProgram(): Command {
  const program = new Command('petrelmq')
    .description('petrelmq: an actor-model message broker that stores and serves messages the way Apache RocketMQ does')
    .version(version(), '-V, --version')
    // Set before the commands are added, so each of them inherits it: errors reach main() as
    // exceptions and are printed by output.ts as one line, never by commander itself.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true);
  registerStart(program);
  registerNamesrv(program);
  registerTopic(program);
  registerConsumer(program);
  registerGroup(program);
  registerMessage(program);
  registerOffset(program);
  registerBench(program);
  return program;
}

async function main(): Promise<void> {
  // grpc-js logs its own errors straight to stderr; the CLI reports every failure itself, once.
  process.env['GRPC_VERBOSITY'] ??= 'NONE';
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = printError(err, process.argv.includes('--json'));
  }
}

await main();
