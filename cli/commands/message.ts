/**
 * `petrelmq message query`: find messages on a running broker by key (the IndexFile), by id
 * (offset message id or unique id) or by store-time range (each queue from the offset of --begin).
 */
import { Option, type Command } from 'commander';
import type { BrokerApi, MessageExt } from '../../api/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';
import { adminCommand, printMessages, withBroker, type AdminOptions } from '../admin.js';
import { parseIntAtLeast, parseTime } from '../args.js';
import { usage } from '../output.js';

interface QueryOptions extends AdminOptions {
  readonly topic?: string;
  readonly key?: string;
  readonly id?: string;
  readonly begin?: number;
  readonly end?: number;
  readonly max: number;
  readonly body?: boolean;
}

/** Group name a time-range scan pulls under; pulls commit nothing, so it leaves no trace. */
const SCAN_GROUP = 'PETRELMQ_ADMIN_QUERY';

async function queryByTime(api: BrokerApi, topic: string, begin: number, end: number, max: number): Promise<MessageExt[]> {
  const cfg = await api.getTopic(topic);
  if (cfg === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `topic ${topic} does not exist`);
  const found: MessageExt[] = [];
  for (let queueId = 0; queueId < cfg.readQueueNums; queueId++) {
    let offset = await api.searchOffsetByTime(topic, queueId, begin);
    const maxOffset = await api.maxOffset(topic, queueId);
    scan: while (offset < maxOffset) {
      const r = await api.pull({ group: SCAN_GROUP, topic, queueId, offset, maxMsgNums: 32 });
      if (r.messages.length === 0 || r.nextBeginOffset <= offset) break;
      for (const m of r.messages) {
        // Store times rise along a queue: past the end of the range, this queue is done.
        if (m.storeTimestamp > end) break scan;
        if (m.storeTimestamp >= begin) found.push(m);
      }
      offset = r.nextBeginOffset;
    }
  }
  return found.sort((a, b) => a.storeTimestamp - b.storeTimestamp || a.commitLogOffset - b.commitLogOffset).slice(0, max);
}

export function registerMessage(program: Command): void {
  const message = program.command('message').description('find messages on a running broker');

  adminCommand(message, 'query', 'find messages by --key, by --id, or by store time alone (--begin [--end])')
    .option('--topic <topic>', 'topic (needed with --key and --begin/--end)')
    .addOption(new Option('--key <key>', 'a business key (RocketMQ KEYS) or unique id, looked up in the index (--begin/--end bound it)').conflicts('id'))
    .addOption(new Option('--id <msgId>', 'a message id: offset message id (store host + offset) or unique id').conflicts(['key', 'begin', 'end']))
    .addOption(new Option('--begin <time>', 'start of a store-time range (ms since the epoch or ISO 8601)').argParser(parseTime))
    .addOption(new Option('--end <time>', 'end of the range [default: now]').argParser(parseTime))
    .addOption(new Option('--max <n>', 'most messages to show').argParser(parseIntAtLeast(1)).default(32))
    .option('--body', 'print message bodies (UTF-8, or base64)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<QueryOptions>();
      if (o.key === undefined && o.id === undefined && o.begin === undefined) throw usage('message query needs --key, --id or --begin');
      if (o.id === undefined && o.topic === undefined) throw usage('message query needs --topic with --key or --begin');
      const end = o.end ?? Date.now();
      const messages = await withBroker(o.broker, async (api) => {
        if (o.id !== undefined) {
          const m = await api.queryMessageById(o.id);
          return m === undefined ? [] : [m];
        }
        const topic = o.topic ?? '';
        if (o.key !== undefined) return api.queryMessageByKey(topic, o.key, o.max, o.begin ?? 0, end);
        return queryByTime(api, topic, o.begin ?? 0, end, o.max);
      });
      printMessages(messages, o.json === true, o.body === true);
    });
}
