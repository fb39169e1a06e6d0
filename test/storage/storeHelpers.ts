/** Shared set-up for the storage tests: small stores in temp folders, message builders. */
import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../common/clock.js';
import { MessageStore, type MessageStoreOptions } from '../../storage/MessageStore.js';
import type { MessageToStore } from '../../storage/MessageCodec.js';
import { tempDir } from '../helpers/tmp.js';

export const utf8 = new TextEncoder();

/** Small files everywhere so that rolling, expiry and index rollover happen within a few messages. */
export function smallConfig(root: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    storePathRootDir: root,
    mappedFileSizeCommitLog: 4096,
    mappedFileSizeConsumeQueue: 20 * 16,
    maxHashSlotNum: 32,
    maxIndexNum: 64,
    maxMessageSize: 1024,
    topicQueueIdLimit: 8,
    ...extra,
  };
}

export interface OpenedStore {
  readonly root: string;
  readonly clock: ManualClock;
  store: MessageStore;
  reopen(more?: Partial<MessageStoreOptions>): MessageStore;
}

/**
 * Opens a small store in its own temp folder; it is dropped at teardown. The clock starts at
 * `clockStart` (file expiry compares it with real file modification times).
 */
export function openStore(
  t: ExecutionContext,
  extra: Record<string, unknown> = {},
  options: Partial<MessageStoreOptions> = {},
  clockStart = 1_700_000_000_000,
): OpenedStore {
  const root = tempDir(t, 'petrelmq-store-');
  const clock = new ManualClock(clockStart);
  const config = smallConfig(root, extra);
  const opened: OpenedStore = {
    root,
    clock,
    store: MessageStore.open({ config, clock, ...options }),
    reopen(more = {}) {
      opened.store = MessageStore.open({ config, clock, ...options, ...more });
      return opened.store;
    },
  };
  t.teardown(() => opened.store.crash());
  return opened;
}

export function msg(topic: string, queueId: number, text: string, extra: Partial<MessageToStore> = {}): MessageToStore {
  return { topic, queueId, body: utf8.encode(text), ...extra };
}

export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
