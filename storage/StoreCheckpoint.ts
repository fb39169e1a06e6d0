/**
 * The checkpoint file in the store root (ROCKETMQ.md 4.1): 4,096 bytes, of which five longs are
 * used, big-endian:
 *
 * | offset | size | field               | meaning                                                     |
 * |--------|------|---------------------|-------------------------------------------------------------|
 * | 0      | 8    | physicMsgTimestamp  | store time of the last record covered by a CommitLog flush  |
 * | 8      | 8    | logicsMsgTimestamp  | store time of the last record covered by a ConsumeQueue flush|
 * | 16     | 8    | indexMsgTimestamp   | end time of the last full IndexFile flushed                 |
 * | 24     | 8    | masterFlushedOffset | flushed CommitLog offset of the master (for slaves)         |
 * | 32     | 8    | confirmPhyOffset    | CommitLog offset up to which data is confirmed (dispatched) |
 *
 * Owner: the flush actor later (the MessageStore in one thread now). Values are changed in memory
 * and written with `flush`; after a crash the file holds what the last flush wrote, which only
 * ever understates progress, so recovery that trusts it re-checks a little more than needed.
 */
import fs from 'node:fs';
import { ioError } from './FileBackend.js';
import { getLong, setLong } from './Long.js';

export const CHECKPOINT_FILE_SIZE = 4096;
const OFF_PHYSIC_MSG_TIMESTAMP = 0;
const OFF_LOGICS_MSG_TIMESTAMP = 8;
const OFF_INDEX_MSG_TIMESTAMP = 16;
const OFF_MASTER_FLUSHED_OFFSET = 24;
const OFF_CONFIRM_PHY_OFFSET = 32;
const USED_BYTES = 40;

/** RocketMQ subtracts this from the checkpoint times before choosing where recovery starts. */
const RECOVERY_MARGIN_MS = 3000;

export class StoreCheckpoint {
  readonly path: string;
  physicMsgTimestamp = 0;
  logicsMsgTimestamp = 0;
  indexMsgTimestamp = 0;
  masterFlushedOffset = 0;
  confirmPhyOffset = 0;
  readonly #buf = new Uint8Array(USED_BYTES);
  readonly #view = new DataView(this.#buf.buffer);
  #fd: number;

  /** Opens the checkpoint at `path`, creating a zeroed one when absent. */
  constructor(path: string) {
    this.path = path;
    try {
      const exists = fs.existsSync(path);
      this.#fd = fs.openSync(path, exists ? 'r+' : 'w+');
      if (!exists) fs.ftruncateSync(this.#fd, CHECKPOINT_FILE_SIZE);
      fs.readSync(this.#fd, this.#buf, 0, USED_BYTES, 0);
    } catch (err) {
      throw ioError('open', path, err);
    }
    const v = this.#view;
    this.physicMsgTimestamp = getLong(v, OFF_PHYSIC_MSG_TIMESTAMP);
    this.logicsMsgTimestamp = getLong(v, OFF_LOGICS_MSG_TIMESTAMP);
    this.indexMsgTimestamp = getLong(v, OFF_INDEX_MSG_TIMESTAMP);
    this.masterFlushedOffset = getLong(v, OFF_MASTER_FLUSHED_OFFSET);
    this.confirmPhyOffset = getLong(v, OFF_CONFIRM_PHY_OFFSET);
  }

  /** min(physic, logics) - 3 s, floored at 0: records stored before it are known durable. */
  minTimestamp(): number {
    return Math.max(0, Math.min(this.physicMsgTimestamp, this.logicsMsgTimestamp) - RECOVERY_MARGIN_MS);
  }

  /** Writes the five values and makes them durable. */
  flush(): void {
    const v = this.#view;
    setLong(v, OFF_PHYSIC_MSG_TIMESTAMP, this.physicMsgTimestamp);
    setLong(v, OFF_LOGICS_MSG_TIMESTAMP, this.logicsMsgTimestamp);
    setLong(v, OFF_INDEX_MSG_TIMESTAMP, this.indexMsgTimestamp);
    setLong(v, OFF_MASTER_FLUSHED_OFFSET, this.masterFlushedOffset);
    setLong(v, OFF_CONFIRM_PHY_OFFSET, this.confirmPhyOffset);
    try {
      fs.writeSync(this.#fd, this.#buf, 0, USED_BYTES, 0);
      fs.fdatasyncSync(this.#fd);
    } catch (err) {
      throw ioError('write', this.path, err);
    }
  }

  close(): void {
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}
