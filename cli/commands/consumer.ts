/** `petrelmq consumer progress --group G`: a group's committed offsets and lag per queue. */
import type { Command } from 'commander';
import { adminCommand, withBroker, type AdminOptions } from '../admin.js';
import { printJson, printLine, printTable } from '../output.js';

export function registerConsumer(program: Command): void {
  const consumer = program.command('consumer').description('consumer groups of a running broker');

  adminCommand(consumer, 'progress', "a group's committed offset, the broker's max offset and the lag of every queue it consumes")
    .addHelpText('after', "\nA queue the group has not committed on shows consumerOffset none; its lag counts from where the group would start there.")
    .requiredOption('--group <group>', 'consumer group')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions & { group: string }>();
      const progress = await withBroker(o.broker, (api) => api.consumerProgress(o.group));
      if (o.json === true) {
        printJson(progress);
        return;
      }
      if (progress.queues.length === 0) {
        printLine(`group ${progress.group} has no committed offsets and no subscribed queues`);
        return;
      }
      printTable(
        ['topic', 'queue', 'brokerOffset', 'consumerOffset', 'lag'],
        progress.queues.map((q) => [q.topic, String(q.queueId), String(q.brokerOffset), q.consumerOffset < 0 ? 'none' : String(q.consumerOffset), String(q.lag)]),
      );
      printLine(`total lag: ${progress.totalLag}`);
    });
}
