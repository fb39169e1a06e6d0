import test from 'ava';
import path from 'node:path';
import { CommitLogFlusher } from '../../storage/CommitLogFlusher.js';
import { CommitLogReader } from '../../storage/CommitLogReader.js';
import type { CommitLogDispatcher, DispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { OS_PAGE_SIZE } from '../../storage/FileBackend.js';
import { msg, openStore, text } from './storeHelpers.js';

function collector(): CommitLogDispatcher & { seen: Array<Pick<DispatchRequest, 'commitLogOffset' | 'queueOffset' | 'uniqKey' | 'keys'>> } {
  const seen: Array<Pick<DispatchRequest, 'commitLogOffset' | 'queueOffset' | 'uniqKey' | 'keys'>> = [];
  return {
    seen,
    dispatch(r) {
      seen.push({ commitLogOffset: r.commitLogOffset, queueOffset: r.queueOffset, uniqKey: r.uniqKey, keys: r.keys });
    },
  };
}

for (const backend of ['mmap', 'fs'] as const) {
  test(`CommitLogReader - maps files as they appear and never reads past the published position (${backend})`, (t) => {
    const s = openStore(t, { mappedFileSizeCommitLog: 1024, mappedFileBackend: backend });
    const reader = new CommitLogReader({ dir: path.join(s.root, 'commitlog'), fileSize: 1024, backend });
    t.teardown(() => reader.close());
    const first = s.store.putMessage(msg('T', 0, 'one'));
    const published = s.store.getMaxPhyOffset();
    t.is(text(reader.lookMessage(first.wroteOffset, published)?.body ?? new Uint8Array(0)), 'one');
    t.is(reader.read(first.wroteOffset, first.wroteBytes, published - 1), undefined);
    const puts = Array.from({ length: 20 }, (_, i) => s.store.putMessage(msg('T', 0, `m${i}`, { keys: `k${i}` })));
    const last = puts.at(-1);
    if (last === undefined) return t.fail();
    t.true(last.wroteOffset >= 2048, 'the writer rolled to files the reader has not seen');
    t.is(reader.lookMessage(last.wroteOffset, published), undefined, 'still past the old published position');
    t.is(text(reader.lookMessage(last.wroteOffset, s.store.getMaxPhyOffset())?.body ?? new Uint8Array(0)), 'm19');
  });
}

test('CommitLogReader - dispatch walks records and blank records up to the limit and resumes there', (t) => {
  const s = openStore(t, { mappedFileSizeCommitLog: 1024 });
  const puts = Array.from({ length: 15 }, (_, i) => s.store.putMessage(msg('T', i % 2, `m${i}`, { keys: `k${i}` })));
  const reader = new CommitLogReader({ dir: path.join(s.root, 'commitlog'), fileSize: 1024, backend: 'mmap' });
  t.teardown(() => reader.close());
  const c = collector();
  const cut = puts[10]?.wroteOffset ?? 0;
  const mid = reader.dispatch(0, cut + 5, [c]);
  t.is(mid, cut, 'a record not wholly published waits');
  const after11 = (puts[11]?.wroteOffset ?? 0) + (puts[11]?.wroteBytes ?? 0);
  t.is(reader.dispatch(mid, s.store.getMaxPhyOffset(), [c], 2), after11, 'two records, then it stops');
  t.true((puts[12]?.wroteOffset ?? 0) > after11, 'a blank record closes that file');
  t.is(reader.dispatch(after11, s.store.getMaxPhyOffset(), [c]), s.store.getMaxPhyOffset());
  t.deepEqual(
    c.seen.map((r) => r.commitLogOffset),
    puts.map((p) => p.wroteOffset),
  );
  t.deepEqual(c.seen[7], { commitLogOffset: puts[7]?.wroteOffset, queueOffset: 3, uniqKey: puts[7]?.uniqKey, keys: 'k7' });
});

test('CommitLogFlusher - flushes whole files and the last one only past flushCommitLogLeastPages', (t) => {
  const fileSize = 16 * OS_PAGE_SIZE;
  const s = openStore(t, { mappedFileSizeCommitLog: fileSize, maxMessageSize: 8192 });
  const flusher = new CommitLogFlusher({ dir: path.join(s.root, 'commitlog'), fileSize, syncMethod: 'fdatasync' });
  t.teardown(() => flusher.close());
  const body = new Uint8Array(3000);
  s.store.putMessage({ topic: 'T', queueId: 0, body });
  const one = s.store.getMaxPhyOffset();
  t.is(flusher.flush(one, 4), 0, 'less than four new pages');
  t.is(flusher.flush(one, 0), one);
  while (s.store.getMaxPhyOffset() < fileSize + 5 * OS_PAGE_SIZE) s.store.putMessage({ topic: 'T', queueId: 0, body });
  const wrote = s.store.getMaxPhyOffset();
  const flushed = flusher.flush(wrote, 4);
  t.is(flushed, wrote, 'the full first file, then four or more pages of the second');
  t.is(flusher.flush(wrote, 0), wrote);
  t.is(flusher.flushedPosition, wrote);
});

test('CommitLogFlusher - msync through its own mapping reaches the same position', (t) => {
  const s = openStore(t, { mappedFileSizeCommitLog: 8192 });
  const flusher = new CommitLogFlusher({ dir: path.join(s.root, 'commitlog'), fileSize: 8192, syncMethod: 'msync' });
  t.teardown(() => flusher.close());
  for (let i = 0; i < 40; i++) s.store.putMessage(msg('T', 0, `m${i}`));
  const wrote = s.store.getMaxPhyOffset();
  t.is(flusher.flush(wrote, 0), wrote);
});
