/**
 * A pull serves a record only when it is the record its ConsumeQueue unit names: beyond the
 * record check (sizes, stored offset, CRCs), the queue id and queue offset written in the record
 * must be the unit's. Without the whole-record CRC those header bytes are covered by nothing else.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { OFF_QUEUE_ID, OFF_QUEUE_OFFSET } from '../../storage/RecordLayout.js';
import { flipBytes } from '../helpers/damage.js';
import { msg, openStore } from './storeHelpers.js';

for (const [field, at] of [['queue offset', OFF_QUEUE_OFFSET + 7], ['queue id', OFF_QUEUE_ID + 3]] as const) {
  test(`GetMessage - a record whose ${field} byte was flipped is skipped as damaged, its neighbours served`, (t) => {
    const s = openStore(t, { mappedFileSizeCommitLog: 64 * 1024 });
    const puts = Array.from({ length: 5 }, (_, i) => s.store.putMessage(msg('T', 0, `m${i}`)));
    s.store.shutdown();
    const victim = puts[2]?.wroteOffset ?? 0;
    flipBytes(path.join(s.root, 'commitlog', '0'.padStart(20, '0')), victim + at, 1);
    t.true(fs.existsSync(path.join(s.root, 'consumequeue', 'T', '0')));
    const store = s.reopen();
    const got = store.getMessage({ group: 'g', topic: 'T', queueId: 0, offset: 0, maxMsgNums: 32 });
    t.deepEqual(got.messages.map((m) => m.queueOffset), [0, 1, 3, 4]);
    t.deepEqual(got.corrupt.map((c) => c.commitLogOffset), [victim]);
  });
}
