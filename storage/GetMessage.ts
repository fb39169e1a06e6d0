/**
 * How a pull finds messages (RocketMQ's DefaultMessageStore.getMessage, ROCKETMQ.md 2.5): check
 * the offset against the queue's range, walk ConsumeQueue units from it, filter on the tag code,
 * read the records from the CommitLog, filter on properties, stop at the batch limits, and copy
 * what was found into one buffer of its own. A unit whose tag slot names a ConsumeQueueExt unit is
 * resolved through it: the filter gets the real tag code and the unit (store time, bloom bitmap).
 */
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';
import { BLANK_UNIT_SIZE, CQ_STORE_UNIT_SIZE, emptyCqUnit, isExtTagsCode } from './ConsumeQueue.js';
import { decodeProperties, isServableRecord } from './MessageDecoder.js';
import { OFF_QUEUE_ID, OFF_QUEUE_OFFSET } from './RecordLayout.js';
import { getLong } from './Long.js';
import { ACCEPT_ALL, type ConsumeQueueExtUnitView } from './MessageFilter.js';
import type { MessageStoreConfig } from './StoreConfig.js';
import { GetMessageStatus, type CorruptUnit, type GetMessageRequest, type GetMessageResult, type GotMessage } from './StoreResults.js';

/** RocketMQ caps one pull's bytes at 128 MiB whatever the client asks. */
const MAX_PULL_BYTES = 128 * 1024 * 1024;
/** A pull scans at least this many ConsumeQueue bytes (800 units) looking for matches. */
const MIN_FILTER_SCAN_BYTES = 16_000;

/**
 * What a pull needs of the CommitLog: the writer's CommitLog satisfies it, and so does a
 * CommitLogReader bound to a published position in another thread.
 */
export interface CommitLogRead {
  /** mappedFileSizeCommitLog */
  readonly fileSize: number;
  /** End of the readable log (the confirm or dispatched position). */
  maxOffset(): number;
  /** Bytes [offset, offset + size): a view valid for this request, or undefined when not readable. */
  getData(offset: number, size: number): Uint8Array | undefined;
}

export interface GetMessageContext {
  readonly commitLog: CommitLogRead;
  readonly consumeQueues: ConsumeQueueStore;
  readonly config: MessageStoreConfig;
  /** Bytes of CommitLog tail counted as hot (accessMessageInMemoryMaxRatio of RAM). */
  readonly hotBytes: number;
}

function emptyResult(status: GetMessageStatus, nextBeginOffset: number, minOffset: number, maxOffset: number): GetMessageResult {
  return {
    status,
    nextBeginOffset,
    minOffset,
    maxOffset,
    messages: [],
    buffer: new Uint8Array(0),
    bufferTotalSize: 0,
    suggestPullingFromSlave: false,
    corrupt: [],
  };
}

export function getMessage(ctx: GetMessageContext, req: GetMessageRequest): GetMessageResult {
  const { commitLog, config } = ctx;
  const cq = ctx.consumeQueues.find(req.topic, req.queueId);
  const offset = req.offset;
  if (cq === undefined) return emptyResult(GetMessageStatus.NO_MATCHED_LOGIC_QUEUE, 0, 0, 0);
  const minOffset = cq.minOffsetInQueue;
  const maxOffset = cq.maxOffsetInQueue;
  if (maxOffset === 0) return emptyResult(GetMessageStatus.NO_MESSAGE_IN_QUEUE, 0, minOffset, maxOffset);
  if (offset < minOffset) return emptyResult(GetMessageStatus.OFFSET_TOO_SMALL, minOffset, minOffset, maxOffset);
  if (offset === maxOffset) return emptyResult(GetMessageStatus.OFFSET_OVERFLOW_ONE, offset, minOffset, maxOffset);
  if (offset > maxOffset) {
    return emptyResult(GetMessageStatus.OFFSET_OVERFLOW_BADLY, minOffset === 0 ? minOffset : maxOffset, minOffset, maxOffset);
  }

  const filter = req.filter ?? ACCEPT_ALL;
  const readsExt = filter !== ACCEPT_ALL && filter.readsConsumeQueue !== false;
  const maxMsgNums = req.maxMsgNums;
  const maxTotalSize = Math.min(req.maxTotalSize ?? MAX_PULL_BYTES, MAX_PULL_BYTES);
  const maxPhy = commitLog.maxOffset();
  const maxScan = Math.max(MIN_FILTER_SCAN_BYTES, maxMsgNums * CQ_STORE_UNIT_SIZE);
  const unit = emptyCqUnit();
  const found: GotMessage[] = [];
  const views: Uint8Array[] = [];
  let status: GetMessageStatus = GetMessageStatus.NO_MATCHED_MESSAGE;
  let bufferTotal = 0;
  let maxPhyPulling = 0;
  let skipBelow = -1;
  let scanned = 0;
  let nextBegin = -1;
  const corrupt: CorruptUnit[] = [];
  for (let q = offset; q < maxOffset && scanned < maxScan; q++, scanned += CQ_STORE_UNIT_SIZE) {
    if (!cq.getUnit(q, unit)) {
      // No unit here (a ConsumeQueue file gone): with nothing found yet, the next pull starts at
      // the next unit stored, as RocketMQ's rollNextFile does, so readers are not stuck at a hole.
      if (found.length === 0 && corrupt.length === 0) {
        status = GetMessageStatus.OFFSET_FOUND_NULL;
        nextBegin = cq.nextStoredOffset(q);
      }
      break;
    }
    const { physicalOffset: phy, size } = unit;
    if (size === BLANK_UNIT_SIZE) continue;
    maxPhyPulling = phy;
    if (phy < skipBelow) continue;
    const inDisk = maxPhy - phy > ctx.hotBytes;
    if (isTheBatchFull(config, size, maxMsgNums, maxTotalSize, bufferTotal, found.length, inDisk)) break;
    let tagsCode: number | undefined = unit.tagsCode;
    let ext: ConsumeQueueExtUnitView | undefined;
    if (isExtTagsCode(unit.tagsCode) && readsExt) {
      ext = ctx.consumeQueues.extUnitOf(cq, unit.tagsCode);
      tagsCode = ext?.tagsCode;
    }
    if (!filter.matchesTagsCode(tagsCode, ext)) continue;
    const data = commitLog.getData(phy, size);
    if (data === undefined) {
      if (found.length === 0) status = GetMessageStatus.MESSAGE_WAS_REMOVING;
      skipBelow = phy - (phy % commitLog.fileSize) + commitLog.fileSize;
      continue;
    }
    // A damaged record is never served: it is skipped like a filtered one and reported. Beyond
    // the record check, it must be the record of this queue offset of this queue.
    if (!isServableRecord(data, 0, size, phy, config.forceVerifyPropCRC) || !isRecordOf(data, cq.queueId, q)) {
      corrupt.push({ queueOffset: q, commitLogOffset: phy, size });
      continue;
    }
    if (filter.matchesRecord !== undefined && !filter.matchesRecord(decodeProperties(data, 0))) continue;
    if (isExtTagsCode(unit.tagsCode) && !readsExt) tagsCode = ctx.consumeQueues.extUnitOf(cq, unit.tagsCode)?.tagsCode;
    found.push({ queueOffset: q, commitLogOffset: phy, size, tagsCode: tagsCode ?? 0, bufferOffset: bufferTotal });
    views.push(data);
    bufferTotal += size;
    status = GetMessageStatus.FOUND;
    skipBelow = -1;
  }

  const buffer = new Uint8Array(bufferTotal);
  for (let i = 0; i < views.length; i++) buffer.set(views[i] ?? new Uint8Array(0), found[i]?.bufferOffset ?? 0);
  return {
    status,
    nextBeginOffset: nextBegin >= 0 ? nextBegin : offset + scanned / CQ_STORE_UNIT_SIZE,
    minOffset,
    maxOffset,
    messages: found,
    buffer,
    bufferTotalSize: bufferTotal,
    suggestPullingFromSlave: maxPhy - maxPhyPulling > ctx.hotBytes,
    corrupt,
  };
}

/** True when the record says it is queue offset `queueOffset` of queue `queueId`, as its unit does. */
function isRecordOf(data: Uint8Array, queueId: number, queueOffset: number): boolean {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return view.getInt32(OFF_QUEUE_ID) === queueId && getLong(view, OFF_QUEUE_OFFSET) === queueOffset;
}

/** RocketMQ's isTheBatchFull: checked before adding each message after the first. */
function isTheBatchFull(
  config: MessageStoreConfig,
  size: number,
  maxMsgNums: number,
  maxTotalSize: number,
  bufferTotal: number,
  count: number,
  inDisk: boolean,
): boolean {
  if (bufferTotal === 0 || count === 0) return false;
  if (maxMsgNums <= count) return true;
  if (bufferTotal + size > maxTotalSize) return true;
  if (inDisk) {
    return bufferTotal + size > config.maxTransferBytesOnMessageInDisk || count > config.maxTransferCountOnMessageInDisk - 1;
  }
  return bufferTotal + size > config.maxTransferBytesOnMessageInMemory || count > config.maxTransferCountOnMessageInMemory - 1;
}
