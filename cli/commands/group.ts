/**
 * `petrelmq group create|update|delete|list|describe`: the subscription group table of a running
 * broker (RocketMQ's updateSubGroup / deleteSubGroup). A group's settings keep RocketMQ's names
 * (consumeMessageOrderly, retryMaxTimes, consumeEnable, ...); the broker checks them and refuses
 * a bad name with ERR_GROUP_INVALID and a value out of range with ERR_CONFIG_INVALID.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SubscriptionGroupConfig, SubscriptionGroupInput } from '../../api/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';
import { adminCommand, withBroker, type AdminOptions } from '../admin.js';
import { printJson, printLine, printTable } from '../output.js';

interface SettingOptions extends AdminOptions {
  readonly fifo?: boolean;
  readonly retryMaxTimes?: number;
  readonly consumeEnable?: boolean;
  readonly consumeFromMinEnable?: boolean;
  readonly consumeBroadcastEnable?: boolean;
  readonly retryQueueNums?: number;
  readonly brokerId?: number;
  readonly whichBrokerWhenConsumeSlowly?: number;
  readonly consumeTimeoutMinute?: number;
}

/** Any integer: the broker judges the range. */
function parseInteger(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') throw new InvalidArgumentError('expected true or false');
  return v === 'true';
}

const HEADERS = ['group', 'fifo', 'retryMaxTimes', 'consumeEnable', 'consumeFromMinEnable', 'retryQueueNums', 'brokerId', 'whichBrokerWhenConsumeSlowly'];

function row(g: SubscriptionGroupConfig): string[] {
  return [
    g.groupName, g.consumeMessageOrderly ? 'yes' : 'no', String(g.retryMaxTimes), String(g.consumeEnable), String(g.consumeFromMinEnable),
    String(g.retryQueueNums), String(g.brokerId), String(g.whichBrokerWhenConsumeSlowly),
  ];
}

function withSettings(cmd: Command): Command {
  return cmd
    .option('--fifo', 'orderly consumption (RocketMQ consumeMessageOrderly=true): each queue delivered in order, a failed message retried before the next')
    .option('--no-fifo', 'concurrent consumption (consumeMessageOrderly=false)')
    .addOption(new Option('--retry-max-times <n>', 'retries before the DLQ (gRPC max delivery attempts are this + 1); default 16').argParser(parseInteger))
    .addOption(new Option('--consume-enable <bool>', 'false refuses the group\'s pulls and receives; default true').argParser(parseBool))
    .addOption(new Option('--consume-from-min-enable <bool>', 'a new group starts at the min offset; default true').argParser(parseBool))
    .addOption(new Option('--consume-broadcast-enable <bool>', 'default true').argParser(parseBool))
    .addOption(new Option('--retry-queue-nums <n>', 'queues of %RETRY%<group>; default 1').argParser(parseInteger))
    .addOption(new Option('--broker-id <n>', 'the broker id the group reads from; default 0').argParser(parseInteger))
    .addOption(new Option('--which-broker-when-consume-slowly <n>', 'the broker id a slow consumer is sent to; default 1').argParser(parseInteger))
    .addOption(new Option('--consume-timeout-minute <n>', 'default 15').argParser(parseInteger));
}

function inputOf(group: string, o: SettingOptions): SubscriptionGroupInput {
  const pick = <K extends keyof SubscriptionGroupConfig>(k: K, v: SubscriptionGroupConfig[K] | undefined): Partial<SubscriptionGroupConfig> => (v === undefined ? {} : { [k]: v });
  return {
    groupName: group,
    ...pick('consumeMessageOrderly', o.fifo),
    ...pick('retryMaxTimes', o.retryMaxTimes),
    ...pick('consumeEnable', o.consumeEnable),
    ...pick('consumeFromMinEnable', o.consumeFromMinEnable),
    ...pick('consumeBroadcastEnable', o.consumeBroadcastEnable),
    ...pick('retryQueueNums', o.retryQueueNums),
    ...pick('brokerId', o.brokerId),
    ...pick('whichBrokerWhenConsumeSlowly', o.whichBrokerWhenConsumeSlowly),
    ...pick('consumeTimeoutMinute', o.consumeTimeoutMinute),
  };
}

function show(g: SubscriptionGroupConfig, json: boolean): void {
  if (json) printJson({ group: g });
  else printTable(HEADERS, [row(g)]);
}

export function registerGroup(program: Command): void {
  const group = program.command('group').description("consumer groups' settings (the subscription group table) of a running broker");

  withSettings(adminCommand(group, 'create', 'declare a consumer group with its settings (RocketMQ defaults for those not given)'))
    .argument('<group>', 'consumer group name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<SettingOptions>();
      const created = await withBroker(o.broker, async (api) => {
        if ((await api.getSubscriptionGroup(name)) !== undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `subscription group ${name} exists: change it with group update`);
        return api.updateSubscriptionGroup(inputOf(name, o));
      });
      show(created, o.json === true);
    });

  withSettings(adminCommand(group, 'update', "change settings of a declared consumer group (the others keep their values)"))
    .argument('<group>', 'consumer group name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<SettingOptions>();
      const updated = await withBroker(o.broker, async (api) => {
        if ((await api.getSubscriptionGroup(name)) === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `subscription group ${name} is not declared: create it with group create`);
        return api.updateSubscriptionGroup(inputOf(name, o));
      });
      show(updated, o.json === true);
    });

  adminCommand(group, 'delete', "remove a consumer group's entry (the group goes back to the defaults)")
    .argument('<group>', 'consumer group name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions>();
      const deleted = await withBroker(o.broker, (api) => api.deleteSubscriptionGroup(name));
      if (!deleted) throw new PetrelError('ERR_INVALID_ARGUMENT', `subscription group ${name} is not declared`);
      if (o.json === true) printJson({ deleted: name });
      else printLine(`deleted subscription group ${name}`);
    });

  adminCommand(group, 'list', 'every declared consumer group and its settings')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions>();
      const table = await withBroker(o.broker, (api) => api.listSubscriptionGroups());
      if (o.json === true) printJson({ version: table.version, groups: table.groups });
      else if (table.groups.length === 0) printLine('(no subscription groups)');
      else printTable(HEADERS, table.groups.map(row));
    });

  adminCommand(group, 'describe', "one consumer group's settings")
    .argument('<group>', 'consumer group name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const o = cmd.opts<AdminOptions>();
      const found = await withBroker(o.broker, (api) => api.getSubscriptionGroup(name));
      if (found === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `subscription group ${name} is not declared`);
      show(found, o.json === true);
    });
}
