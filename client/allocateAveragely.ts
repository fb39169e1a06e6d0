/**
 * AllocateMessageQueueAveragely, as RocketMQ's consumers compute it: every member sorts the same
 * queue list and member list and takes its own contiguous share. With more members than queues,
 * the members past the queue count get nothing and stay idle.
 */
export function allocateAveragely<Q>(queues: readonly Q[], members: readonly string[], self: string): Q[] {
  const idx = members.indexOf(self);
  if (idx < 0 || queues.length === 0) return [];
  const q = queues.length;
  const c = members.length;
  const mod = q % c;
  const avg = q <= c ? 1 : mod > 0 && idx < mod ? Math.floor(q / c) + 1 : Math.floor(q / c);
  const start = mod > 0 && idx < mod ? idx * avg : idx * avg + mod;
  const take = Math.min(avg, q - start);
  return take > 0 ? queues.slice(start, start + take) : [];
}
