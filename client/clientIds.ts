/** Client ids and group-name checks shared by producers and consumers. */
import { threadId } from 'node:worker_threads';
import { PetrelError } from '../common/errors.js';

let counter = 0;

/** ip@instanceName in RocketMQ; here pid, thread and a counter keep ids unique per client object. */
export function clientId(instanceName: string): string {
  counter += 1;
  return `127.0.0.1@${instanceName}@${process.pid}-${threadId}-${counter}`;
}

/** RocketMQ's group rule: 1..255 chars of [%|a-zA-Z0-9_-]. */
export function validateGroupName(group: unknown, what: string): string {
  if (typeof group !== 'string' || group.length === 0) {
    throw new PetrelError('ERR_GROUP_INVALID', `${what} is required`);
  }
  if (group.length > 255 || !/^[%|a-zA-Z0-9_-]+$/.test(group)) {
    throw new PetrelError('ERR_GROUP_INVALID', `${what} "${group}" must be 1-255 characters of letters, digits, %, |, _ or -`);
  }
  return group;
}
