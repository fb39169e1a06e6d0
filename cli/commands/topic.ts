/** `petrelmq topic create|list|describe`: topics of a running broker. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { TopicConfig } from '../../api/BrokerApi.js';
import { isReadable, isWriteable } from '../../api/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';
import { adminCommand, withBroker, type AdminOptions } from '../admin.js';
import { parseIntAtLeast } from '../args.js';
import { printJson, printLine, printTable } from '../output.js';

interface CreateOptions extends AdminOptions {
  readonly queues?: number;
  readonly readQueues?: number;
  readonly writeQueues?: number;
  readonly perm?: number;
  readonly order?: boolean;
}

function permText(perm: number): string {
  return `${isReadable(perm) ? 'r' : '-'}${isWriteable(perm) ? 'w' : '-'}`;
}

function topicRow(t: TopicConfig): string[] {
  return [t.topic, String(t.readQueueNums), String(t.writeQueueNums), `${t.perm} (${permText(t.perm)})`, t.order ? 'yes' : 'no'];
}

const TOPIC_HEADERS = ['topic', 'readQueues', 'writeQueues', 'perm', 'order'];

function parsePerm(value: string): number {
  const n = parseIntAtLeast(0)(value);
  if (n > 7) throw new InvalidArgumentError('expected perm bits 0..7 (4 read, 2 write, 1 inherit)');
  return n;
}

export function registerTopic(program: Command): void {
  const topic = program.command('topic').description('create, list and describe topics of a running broker');

  adminCommand(topic, 'create', 'create a topic, or update its queue counts and permission')
    .argument('<topic>', 'topic name')
    .addOption(new Option('--queues <n>', 'read and write queue count').argParser(parseIntAtLeast(1)))
    .addOption(new Option('--read-queues <n>', 'read queue count (RocketMQ readQueueNums)').argParser(parseIntAtLeast(1)))
    .addOption(new Option('--write-queues <n>', 'write queue count (RocketMQ writeQueueNums)').argParser(parseIntAtLeast(1)))
    .addOption(new Option('--perm <bits>', 'RocketMQ perm bits: 6 read+write, 4 read only, 2 write only').argParser(parsePerm))
    .option('--order', 'mark the topic as ordered')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<CreateOptions>();
      const readQueueNums = o.readQueues ?? o.queues;
      const writeQueueNums = o.writeQueues ?? o.queues;
      const created = await withBroker(o.broker, (api) =>
        api.createTopic({
          topic: name,
          ...(readQueueNums === undefined ? {} : { readQueueNums }),
          ...(writeQueueNums === undefined ? {} : { writeQueueNums }),
          ...(o.perm === undefined ? {} : { perm: o.perm }),
          ...(o.order === true ? { order: true } : {}),
        }),
      );
      if (o.json === true) printJson({ topic: created });
      else printTable(TOPIC_HEADERS, [topicRow(created)]);
    });

  adminCommand(topic, 'list', 'list every topic')
    .option('--all', 'include system topics (%RETRY%, %DLQ%, SCHEDULE_TOPIC_XXXX)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions & { all?: boolean }>();
      const all = await withBroker(o.broker, (api) => api.listTopics());
      const shown = (o.all === true ? all : all.filter((t) => !isSystemTopic(t.topic))).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
      if (o.json === true) printJson({ topics: shown });
      else if (shown.length === 0) printLine('(no topics)');
      else printTable(TOPIC_HEADERS, shown.map(topicRow));
    });

  adminCommand(topic, 'describe', "a topic's settings and, per queue, its min and max offsets")
    .argument('<topic>', 'topic name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions>();
      const described = await withBroker(o.broker, async (api) => {
        const cfg = await api.getTopic(name);
        if (cfg === undefined) return undefined;
        const count = Math.max(cfg.readQueueNums, cfg.writeQueueNums);
        const queues = await Promise.all(
          Array.from({ length: count }, async (_, queueId) => ({ queueId, minOffset: await api.minOffset(name, queueId), maxOffset: await api.maxOffset(name, queueId) })),
        );
        return { config: cfg, queues };
      });
      if (described === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `topic ${name} does not exist`);
      if (o.json === true) {
        printJson({ topic: described.config, queues: described.queues });
        return;
      }
      printTable(TOPIC_HEADERS, [topicRow(described.config)]);
      printLine('');
      printTable(['queue', 'minOffset', 'maxOffset', 'messages'], described.queues.map((q) => [String(q.queueId), String(q.minOffset), String(q.maxOffset), String(q.maxOffset - q.minOffset)]));
    });
}

export function isSystemTopic(topic: string): boolean {
  return topic.startsWith('%RETRY%') || topic.startsWith('%DLQ%') || topic === 'SCHEDULE_TOPIC_XXXX' || topic.startsWith('rmq_sys_');
}
