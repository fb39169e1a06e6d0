import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBrokerConfig, readBrokerConf } from '../../actors/BrokerConfig.js';
import { parseDelayLevels } from '../../storage/DelayLevels.js';
import { isPetrelError } from '../../common/errors.js';
import { tempDir } from '../helpers/tmp.js';

test('BrokerConfig - defaults are RocketMQ defaults', (t) => {
  const cfg = parseBrokerConfig({});
  t.is(cfg.mappedFileSizeCommitLog, 1024 * 1024 * 1024);
  t.is(cfg.flushDiskType, 'ASYNC_FLUSH');
  t.is(cfg.brokerRole, 'ASYNC_MASTER');
  t.is(cfg.flushIntervalCommitLog, 500);
  t.is(cfg.flushCommitLogLeastPages, 4);
  t.is(cfg.flushCommitLogThoroughInterval, 10_000);
  t.is(cfg.syncFlushTimeout, 5_000);
  t.is(cfg.maxMessageSize, 4 * 1024 * 1024);
  t.is(cfg.defaultTopicQueueNums, 8);
  t.true(cfg.autoCreateTopicEnable);
  t.is(cfg.fileReservedTime, 72);
  t.false(cfg.enablePropertyFilter);
  t.is(cfg.commitLogWriteMode, 'write');
});

test('BrokerConfig - an unknown key is refused naming the key', (t) => {
  const err = t.throws(() => parseBrokerConfig({ flushDiskTyp: 'SYNC_FLUSH' }));
  t.true(isPetrelError(err, 'ERR_CONFIG_INVALID'));
  t.regex(err?.message ?? '', /flushDiskTyp/);
});

test('BrokerConfig - a bad value is refused naming the key', (t) => {
  for (const bad of [{ flushDiskType: 'SOMETIMES' }, { maxMessageSize: -1 }, { syncFlushTimeout: 1.5 }, { autoCreateTopicEnable: 'yes' }, { commitLogWriteMode: 'pwrite' }]) {
    const err = t.throws(() => parseBrokerConfig(bad));
    t.true(isPetrelError(err, 'ERR_CONFIG_INVALID'));
    t.true((err?.message ?? '').includes(Object.keys(bad)[0] ?? '?'));
  }
});

test('BrokerConfig - a slave needs a non-zero brokerId and a master zero', (t) => {
  t.true(isPetrelError(t.throws(() => parseBrokerConfig({ brokerRole: 'SLAVE' })), 'ERR_CONFIG_INVALID'));
  t.true(isPetrelError(t.throws(() => parseBrokerConfig({ brokerId: 1 })), 'ERR_CONFIG_INVALID'));
  t.is(parseBrokerConfig({ brokerRole: 'SLAVE', brokerId: 1 }).brokerId, 1);
});

test('BrokerConfig - broker.conf is read with typed values and comments', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'broker.conf');
  writeFileSync(file, '# a comment\nbrokerName = broker-b\nflushDiskType=SYNC_FLUSH\nsyncFlushTimeout: 250\n! other comment\nenablePropertyFilter=true\n');
  const cfg = readBrokerConf(file);
  t.is(cfg.brokerName, 'broker-b');
  t.is(cfg.flushDiskType, 'SYNC_FLUSH');
  t.is(cfg.syncFlushTimeout, 250);
  t.true(cfg.enablePropertyFilter);
});

test('BrokerConfig - broker.conf with an unknown key or a non-number is refused', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'broker.conf');
  writeFileSync(file, 'brokerNme=x\n');
  t.regex(t.throws(() => readBrokerConf(file))?.message ?? '', /brokerNme/);
  writeFileSync(file, 'syncFlushTimeout=fast\n');
  t.regex(t.throws(() => readBrokerConf(file))?.message ?? '', /syncFlushTimeout/);
});

test('BrokerConfig - delay levels parse to milliseconds', (t) => {
  t.deepEqual(parseDelayLevels('1s 5s 1m 2h 20ms'), [1000, 5000, 60_000, 7_200_000, 20]);
  t.true(isPetrelError(t.throws(() => parseDelayLevels('1s five')), 'ERR_CONFIG_INVALID'));
});
