/**
 * Properties: write random messages, cut the CommitLog at a random byte or damage it anywhere,
 * recover. After a cut, every message wholly written before it is readable through its
 * ConsumeQueue and the index and nothing after it is; after damage, every record no damaged byte
 * touches is kept, and the next write lands at the right physical and queue offsets.
 *
 * "cut" zeroes everything from the damaged byte to the end of its file and deletes later files
 * (a lost tail), under the default config. The damage properties below flip bytes anywhere.
 */
import test, { type ExecutionContext } from 'ava';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../common/clock.js';
import { MessageStore } from '../../storage/MessageStore.js';
import type { PutMessageResult } from '../../storage/StoreResults.js';
import { smallConfig, text } from './storeHelpers.js';

const FILE = 2048;

interface Written {
  readonly i: number;
  readonly queueId: number;
  readonly start: number;
  readonly end: number;
  readonly result: PutMessageResult;
}

const messagesArb = fc.array(
  fc.record({ queueId: fc.integer({ min: 0, max: 2 }), body: fc.uint8Array({ minLength: 0, maxLength: 300 }), keyed: fc.boolean() }),
  { minLength: 1, maxLength: 40, size: 'large' },
);

function damage(root: string, kind: 'cut' | 'corrupt', p: number, flip: number): void {
  const dir = path.join(root, 'commitlog');
  const fileStart = p - (p % FILE);
  const file = path.join(dir, String(fileStart).padStart(20, '0'));
  const fd = fs.openSync(file, 'r+');
  if (kind === 'cut') {
    fs.writeSync(fd, new Uint8Array(FILE - (p - fileStart)), 0, FILE - (p - fileStart), p - fileStart);
    for (const name of fs.readdirSync(dir)) if (Number(name) > fileStart) fs.rmSync(path.join(dir, name));
  } else {
    const b = new Uint8Array(1);
    fs.readSync(fd, b, 0, 1, p - fileStart);
    b[0] = (b[0] ?? 0) ^ flip;
    fs.writeSync(fd, b, 0, 1, p - fileStart);
  }
  fs.closeSync(fd);
}

/** Runs the property; assertions throw so fast-check can shrink a failure to a small case. */
function check(t: ExecutionContext, kind: 'cut' | 'corrupt', runs: number): void {
  let survived = 0;
  let lostTotal = 0;
  let files = 0;
  const extra = kind === 'corrupt' ? { enabledAppendPropCRC: true, forceVerifyPropCRC: true } : {};
  fc.assert(
    fc.property(messagesArb, fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 1, max: 255 }), (messages, permille, flip) => {
      const root = fs.mkdtempSync(path.join(base, 'run-'));
      const config = smallConfig(root, { mappedFileSizeCommitLog: FILE, maxHashSlotNum: 8, maxIndexNum: 16, ...extra });
      const clock = new ManualClock();
      let store = MessageStore.open({ config, clock });
      const written: Written[] = [];
      try {
        messages.forEach((m, i) => {
          const result = store.putMessage({ topic: 'P', queueId: m.queueId, body: m.body, ...(m.keyed ? { keys: `key-${i}` } : {}) });
          written.push({ i, queueId: m.queueId, start: result.wroteOffset, end: result.wroteOffset + result.wroteBytes, result });
          clock.advance(700);
        });
        const logEnd = store.getMaxPhyOffset();
        files += Math.ceil(logEnd / FILE);
        store.crash();
        const p = Math.floor((permille / 1_000_000) * logEnd);
        damage(root, kind, p, flip);

        const inRecord = written.some((w) => w.start <= p && p < w.end);
        const inBlank = written.some((w, k) => {
          const next = written[k + 1];
          return next !== undefined && Math.floor(next.start / FILE) > Math.floor(w.start / FILE) && w.end <= p && p < w.end + 8;
        });
        const damaged = kind === 'cut' || inRecord || inBlank;
        const survivors = damaged ? written.filter((w) => w.end <= p) : written;
        const lost = written.filter((w) => !survivors.includes(w));

        store = MessageStore.open({ config, clock });
        assert.equal(store.recovery.abnormal, true);
        for (let q = 0; q <= 2; q++) {
          const mine = survivors.filter((w) => w.queueId === q);
          assert.equal(store.getMaxOffsetInQueue('P', q), mine.length, `queue ${q} length`);
          const got = store.getMessage({ group: 'g', topic: 'P', queueId: q, offset: 0, maxMsgNums: 64, maxTotalSize: 1 << 20 });
          assert.deepEqual(
            got.messages.map((m) => m.commitLogOffset),
            mine.map((w) => w.start),
          );
        }
        for (const w of survivors) {
          const found = store.queryMessageByUniqKey('P', w.result.uniqKey);
          assert.equal(found?.commitLogOffset, w.start, `message ${w.i} by unique key`);
          assert.deepEqual(found?.body, messages[w.i]?.body);
          if (messages[w.i]?.keyed) assert.equal(store.queryMessage('P', `key-${w.i}`, 4, 0, Number.MAX_SAFE_INTEGER).messages.length, 1);
        }
        for (const w of lost) {
          assert.equal(store.queryMessageByUniqKey('P', w.result.uniqKey), undefined, `lost message ${w.i} not indexed`);
          if (messages[w.i]?.keyed) assert.deepEqual(store.queryMessage('P', `key-${w.i}`, 4, 0, Number.MAX_SAFE_INTEGER).messages, []);
        }

        // Where the log now ends: after the last survivor, or at its file's end when the blank
        // record closing that file is still intact.
        survived += survivors.length;
        lostTotal += lost.length;
        const last = survivors.at(-1);
        let end = last?.end ?? 0;
        const after = last === undefined ? undefined : written[written.indexOf(last) + 1];
        const closedFile = last !== undefined && after !== undefined && Math.floor(after.start / FILE) > Math.floor(last.start / FILE);
        const blankIntact = kind === 'cut' ? p >= end + 8 : !(p >= end && p < end + 8);
        if (closedFile && blankIntact) end = end - (end % FILE) + FILE;
        assert.equal(store.getMaxPhyOffset(), end);
        const next = store.putMessage({ topic: 'P', queueId: 0, body: new TextEncoder().encode('next') });
        const room = FILE - (end % FILE);
        assert.equal(next.wroteOffset, next.wroteBytes + 8 <= room ? end : end - (end % FILE) + FILE);
        assert.equal(next.queueOffset, survivors.filter((w) => w.queueId === 0).length);
        assert.equal(text(store.lookMessageByOffset(next.wroteOffset)?.body ?? new Uint8Array(0)), 'next');
      } finally {
        store.crash();
        fs.rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: runs, includeErrorInReport: true },
  );
  t.log(`kept ${survived}, lost ${lostTotal}, in ${files} CommitLog files`);
  t.true(survived > 0 && lostTotal > 0, `the runs both kept (${survived}) and lost (${lostTotal}) messages`);
}

let base = '';

test.before(() => {
  base = fs.mkdtempSync(path.join(fs.realpathSync(process.env['TMPDIR'] ?? '/tmp'), 'petrelmq-prop-'));
});

test.after.always(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

test('StoreRecovery - after a cut at any byte, exactly the messages written before it survive', (t) => {
  t.timeout(50_000);
  check(t, 'cut', 100);
});

/**
 * Flips up to `length` bytes at global offset `p` (XOR with non-zero values), within the CommitLog
 * file holding it; returns how many.
 */
function flip(root: string, p: number, length: number, seed: number): number {
  const fileStart = p - (p % FILE);
  const file = path.join(root, 'commitlog', String(fileStart).padStart(20, '0'));
  const n = Math.min(length, FILE - (p - fileStart));
  const fd = fs.openSync(file, 'r+');
  const b = new Uint8Array(n);
  fs.readSync(fd, b, 0, n, p - fileStart);
  for (let i = 0; i < n; i++) b[i] = (b[i] ?? 0) ^ (((seed + i * 37) % 255) + 1);
  fs.writeSync(fd, b, 0, n, p - fileStart);
  fs.closeSync(fd);
  return n;
}

/** The CommitLog's bytes [0, end), read from its files. */
function logBytes(root: string, end: number): Uint8Array {
  const out = new Uint8Array(end);
  for (let start = 0; start < end; start += FILE) {
    const file = path.join(root, 'commitlog', String(start).padStart(20, '0'));
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, out, start, Math.min(FILE, end - start), 0);
    fs.closeSync(fd);
  }
  return out;
}

const damageArb = fc.array(fc.record({ permille: fc.integer({ min: 0, max: 999_999 }), length: fc.integer({ min: 1, max: 64 }), seed: fc.nat(254) }), {
  minLength: 1,
  maxLength: 4,
});

/**
 * Damage anywhere (several places, any file, the first included), then normal recovery (after a
 * clean stop) or abnormal (after a crash): every record no damaged byte touches is still served by
 * pull and by key, no damaged body is ever served, and the next write goes on from the recovered
 * end. With enabledAppendPropCRC and forceVerifyPropCRC every damaged record is detectable (with the
 * body CRC alone a flipped queue-offset byte is not, by design).
 */
function checkDamage(t: ExecutionContext, clean: boolean, runs: number): void {
  let intactTotal = 0;
  let damagedTotal = 0;
  fc.assert(
    fc.property(messagesArb, damageArb, (messages, damages) => {
      const root = fs.mkdtempSync(path.join(base, 'run-'));
      const config = smallConfig(root, { mappedFileSizeCommitLog: FILE, maxHashSlotNum: 8, maxIndexNum: 16, enabledAppendPropCRC: true, forceVerifyPropCRC: true });
      const clock = new ManualClock();
      let store = MessageStore.open({ config, clock });
      const written: Written[] = [];
      try {
        messages.forEach((m, i) => {
          const result = store.putMessage({ topic: 'P', queueId: m.queueId, body: m.body, ...(m.keyed ? { keys: `key-${i}` } : {}) });
          written.push({ i, queueId: m.queueId, start: result.wroteOffset, end: result.wroteOffset + result.wroteBytes, result });
          clock.advance(700);
        });
        const logEnd = store.getMaxPhyOffset();
        if (clean) store.shutdown();
        else store.crash();
        // Damage is what differs afterwards: two flips of the same byte with the same value cancel out.
        const before = logBytes(root, logEnd);
        for (const d of damages) {
          const p = Math.floor((d.permille / 1_000_000) * logEnd);
          flip(root, p, Math.min(d.length, logEnd - p), d.seed);
        }
        const after = logBytes(root, logEnd);
        const touched = (w: Written): boolean => {
          for (let i = w.start; i < w.end; i++) if (before[i] !== after[i]) return true;
          return false;
        };
        const intact = written.filter((w) => !touched(w));
        const damaged = written.filter(touched);
        intactTotal += intact.length;
        damagedTotal += damaged.length;

        store = MessageStore.open({ config, clock });
        assert.equal(store.recovery.abnormal, !clean);
        for (let q = 0; q <= 2; q++) {
          const got = store.getMessage({ group: 'g', topic: 'P', queueId: q, offset: 0, maxMsgNums: 64, maxTotalSize: 1 << 20 });
          assert.deepEqual(
            got.messages.map((m) => m.commitLogOffset),
            intact.filter((w) => w.queueId === q).map((w) => w.start),
            `queue ${q}: every intact record and nothing damaged`,
          );
        }
        for (const w of intact) {
          const found = store.queryMessageByUniqKey('P', w.result.uniqKey);
          assert.equal(found?.commitLogOffset, w.start, `message ${w.i} by unique key`);
          assert.deepEqual(found?.body, messages[w.i]?.body);
          assert.deepEqual(store.lookMessageByOffset(w.start)?.body, messages[w.i]?.body);
        }
        for (const w of damaged) {
          // cut off with the tail (nothing stored there) or refused as corrupt: never served
          let served: unknown;
          try {
            served = store.lookMessageByOffset(w.start);
          } catch (err) {
            assert.equal((err as { code?: unknown }).code, 'ERR_STORE_CORRUPT', String((err as Error).stack));
          }
          assert.equal(served, undefined, `damaged message ${w.i} is not served by offset`);
        }
        const end = store.getMaxPhyOffset();
        const lastIntact = intact.at(-1);
        assert.ok(lastIntact === undefined || end >= lastIntact.end, 'the log ends after its last intact record');
        const next = store.putMessage({ topic: 'P', queueId: 0, body: new TextEncoder().encode('next') });
        assert.ok(next.wroteOffset >= end);
        assert.equal(text(store.lookMessageByOffset(next.wroteOffset)?.body ?? new Uint8Array(0)), 'next');
        assert.equal(next.queueOffset, written.filter((w) => w.queueId === 0 && w.start < end).length);
      } finally {
        store.crash();
        fs.rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: runs, includeErrorInReport: true },
  );
  t.log(`intact ${intactTotal} (all kept), damaged ${damagedTotal}`);
  t.true(intactTotal > 0 && damagedTotal > 0, `the runs had both intact (${intactTotal}) and damaged (${damagedTotal}) records`);
}

test('StoreRecovery - damage anywhere never loses an intact record, after a crash (abnormal recovery)', (t) => {
  t.timeout(50_000);
  checkDamage(t, false, 100);
});

test('StoreRecovery - damage anywhere never loses an intact record, after a clean stop (normal recovery)', (t) => {
  t.timeout(50_000);
  checkDamage(t, true, 100);
});
