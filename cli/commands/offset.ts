/** `petrelmq offset reset`: move a group's committed offsets on one topic to its end or to a time. */
import { Option, type Command } from 'commander';
import { adminCommand, withBroker, type AdminOptions } from '../admin.js';
import { parseTime } from '../args.js';
import { printJson, printLine, usage } from '../output.js';

interface ResetOptions extends AdminOptions {
  readonly group: string;
  readonly topic: string;
  readonly latest?: boolean;
  readonly timestamp?: number;
}

export function registerOffset(program: Command): void {
  const offset = program.command('offset').description("consumer groups' committed offsets on a running broker");

  adminCommand(offset, 'reset', "reset a group's offsets on a topic, every queue, to the latest message or to a time")
    .requiredOption('--group <group>', 'consumer group')
    .requiredOption('--topic <topic>', 'topic')
    .addOption(new Option('--latest', 'skip everything stored so far').conflicts('timestamp'))
    .addOption(new Option('--timestamp <time>', 'the first message stored at or after this time (ms since the epoch or ISO 8601)').argParser(parseTime))
    .addHelpText('after', '\nClients of the group see the new offsets when they next query them (restart them to be sure).')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<ResetOptions>();
      if (o.latest !== true && o.timestamp === undefined) throw usage('offset reset needs --latest or --timestamp <time>');
      await withBroker(o.broker, async (api) => {
        if (o.latest === true) await api.resetOffsetToLatest(o.group, o.topic);
        else await api.resetOffsetByTime(o.group, o.topic, o.timestamp ?? 0);
      });
      const to = o.latest === true ? 'latest' : new Date(o.timestamp ?? 0).toISOString();
      if (o.json === true) printJson({ group: o.group, topic: o.topic, reset: to });
      else printLine(`reset ${o.group} on ${o.topic} to ${to}`);
    });
}
