/**
 * Every GetMessage status the store can produce (storage/StoreResults.ts) reaches a network
 * client as a pull status it accepts (issue 10, defect 5: a missing ConsumeQueue stretch answered
 * OFFSET_FOUND_NULL, which the client refused with ERR_REMOTE). Each status is produced for real
 * on store files (deleted ConsumeQueue and CommitLog files included), through filteredPull as the
 * dispatcher runs it, and sent over a real remoting link: BrokerApiServer on a socket, parsed by
 * RemoteBrokerApi.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { PullRequest, PullResult } from '../../api/BrokerApi.js';
import { filteredPull, PULL_STATUS_OF } from '../../actors/FilteredPull.js';
import { decodeRecords } from '../../actors/messageConvert.js';
import { CommitLogReader } from '../../storage/CommitLogReader.js';
import { ConsumeQueueStore } from '../../storage/ConsumeQueueStore.js';
import type { GetMessageContext } from '../../storage/GetMessage.js';
import { getMessage } from '../../storage/GetMessage.js';
import { MessageStore } from '../../storage/MessageStore.js';
import { parseStoreConfig } from '../../storage/StoreConfig.js';
import { GetMessageStatus } from '../../storage/StoreResults.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { GET_STATUSES } from '../../api/values.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { MemoryBroker } from '../helpers/memoryBroker.js';
import { tempDir } from '../helpers/tmp.js';

const UNITS_PER_CQ_FILE = 10;
const CL_FILE = 4096;

/** A broker API whose pulls are served from store files the way the dispatcher serves them. */
class FileBackedBroker extends MemoryBroker {
  readonly #ctx: GetMessageContext;
  /** The raw store status of each pull, for the test to check the mapping against. */
  readonly raw: string[] = [];

  constructor(ctx: GetMessageContext) {
    super('broker-files');
    this.#ctx = ctx;
  }

  override async pull(r: PullRequest): Promise<PullResult> {
    const query = { group: r.group, topic: r.topic, queueId: r.queueId, offset: r.offset, maxMsgNums: r.maxMsgNums };
    const request = { ...query, ...(r.filter === undefined ? {} : { filter: r.filter }) };
    // the same pull without the mapping (this test's filters match nothing)
    this.raw.push(getMessage(this.#ctx, { ...query, ...(r.filter === undefined ? {} : { filter: { matchesTagsCode: () => false } }) }).status);
    const { result } = filteredPull(this.#ctx, request, { enablePropertyFilter: false, filters: undefined });
    return {
      status: result.status as PullResult['status'],
      messages: decodeRecords(result.buffer, result.messages.map((m) => m.size), this.brokerName),
      nextBeginOffset: result.nextBeginOffset,
      minOffset: result.minOffset,
      maxOffset: result.maxOffset,
    };
  }
}

test('pullStatuses - every store status, produced on real files, reaches RemoteBrokerApi as a status it accepts and moves the reader on', async (t) => {
  const root = tempDir(t);
  const config = {
    storePathRootDir: root, mappedFileSizeCommitLog: CL_FILE, mappedFileSizeConsumeQueue: 20 * UNITS_PER_CQ_FILE, maxHashSlotNum: 32, maxIndexNum: 64,
  };
  fs.mkdirSync(path.join(root, 'consumequeue', 'Empty', '0'), { recursive: true });
  const store = MessageStore.open({ config });
  const puts = Array.from({ length: 40 }, (_, i) => store.putMessage({ topic: 'T', queueId: 0, body: new TextEncoder().encode(`message ${i}`), tags: 'A' }));
  store.shutdown();

  // ConsumeQueue file 0 gone (the queue starts at 10), file 2 gone (queue offsets 20..29 have no
  // unit); the CommitLog file holding the last records gone (the units of 30..39 point at nothing).
  const cqDir = path.join(root, 'consumequeue', 'T', '0');
  const cqName = (q: number): string => String(q * 20).padStart(20, '0');
  fs.rmSync(path.join(cqDir, cqName(0)));
  fs.rmSync(path.join(cqDir, cqName(20)));
  const fileOf = (i: number): number => (puts[i]?.wroteOffset ?? 0) - ((puts[i]?.wroteOffset ?? 0) % CL_FILE);
  t.true(fileOf(30) === fileOf(39) && fileOf(19) < fileOf(30), 'queue offsets 30..39, and only those of the last ten, are in the last CommitLog file');
  fs.rmSync(path.join(root, 'commitlog', String(fileOf(39)).padStart(20, '0')));

  const storeConfig = parseStoreConfig(config);
  t.is(storeConfig.mappedFileSizeConsumeQueue, 20 * UNITS_PER_CQ_FILE);
  const queues = new ConsumeQueueStore({ rootDir: root, fileSize: storeConfig.mappedFileSizeConsumeQueue, backend: storeConfig.mappedFileBackend });
  queues.load();
  queues.recover();
  const reader = new CommitLogReader({ dir: path.join(root, 'commitlog'), fileSize: CL_FILE, backend: storeConfig.mappedFileBackend });
  t.teardown(() => {
    queues.close();
    reader.close();
  });
  const end = (puts.at(-1)?.wroteOffset ?? 0) + (puts.at(-1)?.wroteBytes ?? 0);
  const ctx: GetMessageContext = {
    commitLog: { fileSize: CL_FILE, maxOffset: () => end, getData: (o, s) => reader.read(o, s, end) },
    consumeQueues: queues,
    config: storeConfig,
    hotBytes: Number.MAX_SAFE_INTEGER,
  };

  const broker = new FileBackedBroker(ctx);
  const server = await serveBrokerApi(broker, { port: 0 });
  t.teardown(() => server.close());
  const api = await connectBrokerApi(server.address, { brokerName: 'broker-files' });
  t.teardown(() => api.close());

  const cases: { topic: string; offset: number; tags?: string; store: string }[] = [
    { topic: 'T', offset: 10, store: GetMessageStatus.FOUND },
    { topic: 'T', offset: 30, tags: 'B', store: GetMessageStatus.NO_MATCHED_MESSAGE },
    { topic: 'T', offset: 30, store: GetMessageStatus.MESSAGE_WAS_REMOVING },
    { topic: 'T', offset: 20, store: GetMessageStatus.OFFSET_FOUND_NULL },
    { topic: 'T', offset: 41, store: GetMessageStatus.OFFSET_OVERFLOW_BADLY },
    { topic: 'T', offset: 40, store: GetMessageStatus.OFFSET_OVERFLOW_ONE },
    { topic: 'T', offset: 0, store: GetMessageStatus.OFFSET_TOO_SMALL },
    { topic: 'Nope', offset: 0, store: GetMessageStatus.NO_MATCHED_LOGIC_QUEUE },
    { topic: 'Empty', offset: 0, store: GetMessageStatus.NO_MESSAGE_IN_QUEUE },
  ];
  t.deepEqual(new Set(cases.map((c) => c.store)), new Set(Object.values(GetMessageStatus)), 'every store status is exercised');
  for (const c of cases) {
    const before = broker.raw.length;
    const r = await api.pull({ group: 'g', topic: c.topic, queueId: 0, offset: c.offset, maxMsgNums: 4, ...(c.tags === undefined ? {} : { filter: { type: 'TAG', expression: c.tags } }) });
    t.is(broker.raw[before], c.store, `the store answered ${c.store} at ${c.topic}@${c.offset}`);
    t.is(r.status, PULL_STATUS_OF[c.store as keyof typeof PULL_STATUS_OF], `${c.store} reaches the client as ${PULL_STATUS_OF[c.store as keyof typeof PULL_STATUS_OF]}`);
    t.true(GET_STATUSES.includes(r.status));
    if (c.store === GetMessageStatus.MESSAGE_WAS_REMOVING || c.store === GetMessageStatus.OFFSET_FOUND_NULL || c.store === GetMessageStatus.NO_MATCHED_MESSAGE) {
      t.true(r.nextBeginOffset > c.offset, `${c.store}: the reader goes on (${c.offset} -> ${r.nextBeginOffset})`);
    }
    if (c.store === GetMessageStatus.OFFSET_FOUND_NULL) t.is(r.nextBeginOffset, 30, 'past the missing ConsumeQueue stretch');
    if (c.store === GetMessageStatus.FOUND) t.is(new TextDecoder().decode(r.messages[0]?.body), 'message 10');
  }
});
