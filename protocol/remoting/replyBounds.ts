/**
 * Replies sized before the work is done. A call whose reply grows with its request (a send's one
 * SendResult per message) is checked against the link's reply budget before the broker sees it:
 * a request that could not be answered in one frame is refused up front with ERR_REPLY_TOO_LARGE,
 * so nothing is stored for a request whose caller would be told it failed (and would retry it).
 * Calls whose reply is a list the broker may shorten (a pull, a look-up by key: their counts are
 * ceilings) are fitted instead: the reply keeps the longest prefix that fits.
 *
 * Both ends check: the server against its own frame limit, the client against its own (the
 * smaller limit of the two decides what can be read back). The bounds are upper bounds of the
 * reply's serialized size, whatever serializer the link uses: a string is counted at two bytes a
 * character unless it is all Latin-1, as node:v8 and RocketMQ's own codecs write them no larger.
 */
import type { Message, MessageExt } from '../../api/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';

/** Room kept in a reply frame for the envelope around the value. */
export const ENVELOPE_ROOM = 64 * 1024;

/** Every field of one SendResult but its strings, with room to spare (node:v8 writes about 195 bytes). */
const SEND_RESULT_ROOM = 256;
/** A msgId the broker makes (UNIQ_KEY): 32 hex characters. */
const MADE_MSG_ID_CHARS = 32;
/** An offsetMsgId: store host and physical offset in hex, 56 characters for an IPv6 host. */
const OFFSET_MSG_ID_CHARS = 56;
/** Per-message fields of a MessageExt around its body and strings. */
const MESSAGE_EXT_ROOM = 512;

/** Upper bound of a string's serialized size: one byte a character if it is all Latin-1, two otherwise, plus its length prefix. */
export function stringBytes(s: string): number {
  return (/^[\u0000-\u00ff]*$/.test(s) ? s.length : 2 * s.length) + 5;
}

/** The reply budget of a link whose frames hold at most maxFrameBytes. */
export function replyBudget(maxFrameBytes: number): number {
  return Math.max(1, maxFrameBytes - ENVELOPE_ROOM);
}

/** Upper bound of the serialized SendResult that answers `m` on broker `brokerName`. */
export function sendResultBound(m: Pick<Message, 'topic' | 'uniqKey'>, brokerName: string): number {
  const msgId = typeof m.uniqKey === 'string' ? 2 * m.uniqKey.length + 5 : MADE_MSG_ID_CHARS + 5;
  // The result names the topic twice at most (shown topic, message queue) and the broker once.
  return SEND_RESULT_ROOM + msgId + OFFSET_MSG_ID_CHARS + 5 + 2 * stringBytes(m.topic) + stringBytes(brokerName);
}

/**
 * Refuses a send of `messages` whose SendResults could not all fit `budget` bytes, before anything
 * is stored: ERR_REPLY_TOO_LARGE, naming how many messages one call can take.
 */
export function checkSendReply(messages: readonly Pick<Message, 'topic' | 'uniqKey'>[], brokerName: string, budget: number): void {
  let bound = 0;
  let largest = 0;
  for (const m of messages) {
    const b = sendResultBound(m, brokerName);
    bound += b;
    if (b > largest) largest = b;
  }
  if (bound <= budget) return;
  const most = Math.max(1, Math.floor(budget / Math.max(1, largest)));
  throw new PetrelError(
    'ERR_REPLY_TOO_LARGE',
    `a send of ${messages.length} messages would be answered with up to ${bound} bytes, over this link's ${budget}-byte reply budget; ` +
      `nothing was stored: send at most ${most} such messages per call`,
  );
}

/** Upper bound of one MessageExt's serialized size. */
export function messageExtBound(m: MessageExt): number {
  let strings = stringBytes(m.topic) + stringBytes(m.msgId) + stringBytes(m.offsetMsgId) + stringBytes(m.brokerName) + stringBytes(m.tags ?? '');
  for (const k of m.keys) strings += stringBytes(k);
  for (const [k, v] of Object.entries(m.properties)) strings += stringBytes(k) + stringBytes(v);
  return m.body.byteLength + MESSAGE_EXT_ROOM + strings;
}

/** How many of `messages`, from the first, fit `budget` bytes (at least one, so a reply always makes progress). */
export function fittingPrefix(messages: readonly MessageExt[], budget: number): number {
  let used = 0;
  let keep = 0;
  for (const m of messages) {
    used += messageExtBound(m);
    if (used > budget && keep > 0) break;
    keep += 1;
  }
  return keep;
}
