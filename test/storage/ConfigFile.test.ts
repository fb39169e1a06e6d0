import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigFile } from '../../storage/ConfigFile.js';
import { StoreCheckpoint } from '../../storage/StoreCheckpoint.js';
import { tempDir } from '../helpers/tmp.js';

test('ConfigFile - a missing file loads as undefined', (t) => {
  t.is(new ConfigFile(path.join(tempDir(t), 'config', 'topics.json')).load(), undefined);
});

test('ConfigFile - persist replaces the content and keeps the previous one as .bak', (t) => {
  const file = new ConfigFile(path.join(tempDir(t), 'config', 'topics.json'));
  file.persist({ version: 1 });
  t.deepEqual(file.load(), { version: 1 });
  t.false(fs.existsSync(file.backupPath));
  file.persist({ version: 2 });
  t.deepEqual(file.load(), { version: 2 });
  t.deepEqual(JSON.parse(fs.readFileSync(file.backupPath, 'utf8')), { version: 1 });
  t.false(fs.existsSync(`${file.path}.tmp`));
});

test('ConfigFile - a damaged or missing file falls back to its .bak copy', (t) => {
  const file = new ConfigFile(path.join(tempDir(t), 'consumerOffset.json'));
  file.persist({ offsets: { a: 1 } });
  file.persist({ offsets: { a: 2 } });
  fs.writeFileSync(file.path, '{"offsets": {"a": 3');
  t.deepEqual(file.load(), { offsets: { a: 1 } });
  fs.rmSync(file.path);
  t.deepEqual(file.load(), { offsets: { a: 1 } });
  fs.writeFileSync(file.backupPath, 'garbage');
  t.is((t.throws(() => file.load()) as { code?: string }).code, 'ERR_STORE_CORRUPT', 'a damaged .bak is not an empty config');
  fs.writeFileSync(file.path, '{"offsets": {}}');
  t.deepEqual(file.load(), { offsets: {} });
});

test('StoreCheckpoint - the five longs survive a reopen at their RocketMQ offsets', (t) => {
  const file = path.join(tempDir(t), 'checkpoint');
  const cp = new StoreCheckpoint(file);
  cp.physicMsgTimestamp = 1_700_000_000_000;
  cp.logicsMsgTimestamp = 1_700_000_000_500;
  cp.indexMsgTimestamp = 1_600_000_000_000;
  cp.masterFlushedOffset = 123;
  cp.confirmPhyOffset = 4567;
  cp.flush();
  cp.close();
  const bytes = fs.readFileSync(file);
  t.is(bytes.length, 4096);
  t.is(bytes.subarray(0, 40).toString('hex'), '0000018bcfe56800' + '0000018bcfe569f4' + '00000174876e8000' + '000000000000007b' + '00000000000011d7');
  const again = new StoreCheckpoint(file);
  t.teardown(() => again.close());
  t.is(again.minTimestamp(), 1_700_000_000_000 - 3000);
  t.is(again.confirmPhyOffset, 4567);
});
