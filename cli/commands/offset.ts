/**
 * `petrelmq offset reset`: move a group's committed offsets on one topic (every queue, or one) to
 * its end, its start, a time or an offset, and print what moved, old -> new per queue. Running
 * consumers of the group adopt the new offsets (the broker answers their next pull with the reset
 * and refuses their commits from before it). A group the broker does not know is refused unless
 * --create is given.
 */
import { Option, type Command } from 'commander';
import type { OffsetResetResult, OffsetResetTarget } from '../../api/BrokerApi.js';
import { adminCommand, withBroker, type AdminOptions } from '../admin.js';
import { parseIntAtLeast, parseTime } from '../args.js';
import { printJson, printLine, printTable, usage } from '../output.js';

interface ResetOptions extends AdminOptions {
  readonly group: string;
  readonly topic: string;
  readonly latest?: boolean;
  readonly earliest?: boolean;
  readonly timestamp?: number;
  readonly offset?: number;
  readonly queue?: number;
  readonly create?: boolean;
}

const TARGETS = ['latest', 'earliest', 'timestamp', 'offset'] as const;

function targetOf(o: ResetOptions): OffsetResetTarget {
  if (o.latest === true) return { type: 'LATEST' };
  if (o.earliest === true) return { type: 'EARLIEST' };
  if (o.timestamp !== undefined) return { type: 'TIMESTAMP', timestampMs: o.timestamp };
  if (o.offset !== undefined) return { type: 'OFFSET', offset: o.offset };
  throw usage('offset reset needs one of --latest, --earliest, --timestamp <time> or --offset <n>');
}

function describeTarget(target: OffsetResetTarget): string {
  switch (target.type) {
    case 'LATEST':
      return 'latest';
    case 'EARLIEST':
      return 'earliest';
    case 'TIMESTAMP':
      return new Date(target.timestampMs).toISOString();
    case 'OFFSET':
      return `offset ${target.offset}`;
  }
}

const shown = (offset: number): string => (offset < 0 ? 'none' : String(offset));

function printResult(r: OffsetResetResult, to: string): void {
  if (r.groupCreated) printLine(`created subscription group ${r.group}`);
  printLine(`reset ${r.group} on ${r.topic} to ${to} (reset epoch ${r.epoch})`);
  printTable(
    ['broker', 'queue', 'old -> new'],
    r.queues.map((q) => [q.brokerName, String(q.queueId), `${shown(q.oldOffset)} -> ${q.newOffset}`]),
  );
}

export function registerOffset(program: Command): void {
  const offset = program.command('offset').description("consumer groups' committed offsets on a running broker");
  const exclusive = (name: (typeof TARGETS)[number]): string[] => TARGETS.filter((x) => x !== name);

  adminCommand(offset, 'reset', "reset a group's offsets on a topic (every queue, or one) to its end, its start, a time or an offset")
    .requiredOption('--group <group>', 'consumer group')
    .requiredOption('--topic <topic>', 'topic')
    .addOption(new Option('--latest', 'skip everything stored so far').conflicts(exclusive('latest')))
    .addOption(new Option('--earliest', 'from the oldest message kept').conflicts(exclusive('earliest')))
    .addOption(
      new Option('--timestamp <time>', 'the first message stored at or after this time (ms since the epoch or ISO 8601)').argParser(parseTime).conflicts(exclusive('timestamp')),
    )
    .addOption(new Option('--offset <n>', "this queue offset (kept within each queue's min and max)").argParser(parseIntAtLeast(0)).conflicts(exclusive('offset')))
    .addOption(new Option('--queue <id>', 'only this queue').argParser(parseIntAtLeast(0)))
    .option('--create', "reset a group the broker does not know, creating its subscription group entry (default settings)")
    .addHelpText(
      'after',
      '\nPrints old -> new per queue. Running consumers of the group adopt the new offsets: the broker answers their next\n' +
        'pull with the reset and refuses their commits from before it. A group with no subscription group entry, no\n' +
        'committed offset and no live consumer is refused (ERR_GROUP_NOT_EXIST) unless --create is given.',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<ResetOptions>();
      const target = targetOf(o);
      const result = await withBroker(o.broker, (api) =>
        api.resetOffset({
          group: o.group,
          topic: o.topic,
          target,
          ...(o.queue === undefined ? {} : { queueId: o.queue }),
          ifGroupUnknown: o.create === true ? 'create' : 'refuse',
        }),
      );
      const to = describeTarget(target);
      if (o.json === true) printJson({ ...result, reset: to });
      else printResult(result, to);
    });
}
