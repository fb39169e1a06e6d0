/**
 * What the admin commands share: the --broker and --json options, a connection to a running
 * broker over the remoting transport for the length of one command, and message printing.
 */
import { Option, type Command } from 'commander';
import type { BrokerApi, MessageExt } from '../api/BrokerApi.js';
import { parseHostPort } from './args.js';
import { printJson, printTable } from './output.js';
import { connectBroker } from './remoting.js';

export interface AdminOptions {
  readonly broker: string;
  readonly json?: boolean;
}

export const DEFAULT_BROKER_ADDRESS = '127.0.0.1:10911';

/** A subcommand of `parent` with --broker host:port and --json. */
export function adminCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(
      new Option('--broker <host:port>', "the broker's admin/remoting address").argParser(parseHostPort).default(DEFAULT_BROKER_ADDRESS).env('PETRELMQ_BROKER'),
    )
    .option('--json', 'print the result as JSON');
}

/** Connects, runs `fn` against the broker's API, and disconnects whatever happened. */
export async function withBroker<T>(address: string, fn: (api: BrokerApi) => Promise<T>): Promise<T> {
  const remote = await connectBroker(address);
  try {
    return await fn(remote.api);
  } finally {
    await remote.close();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text when it is valid UTF-8; otherwise undefined (callers show base64). */
export function bodyText(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/** A message as plain JSON: the body as `body` (UTF-8 text) or `bodyBase64`. */
export function messageJson(m: MessageExt): Record<string, unknown> {
  const text = bodyText(m.body);
  const { body: _body, ...rest } = m;
  return { ...rest, ...(text === undefined ? { bodyBase64: Buffer.from(m.body).toString('base64') } : { body: text }) };
}

export function printMessages(messages: readonly MessageExt[], json: boolean, showBody: boolean): void {
  if (json) {
    printJson({ messages: messages.map(messageJson) });
    return;
  }
  if (messages.length === 0) {
    process.stdout.write('(no message found)\n');
    return;
  }
  const headers = ['msgId', 'topic', 'queue', 'queueOffset', 'storeTime', 'tags', 'keys', 'bytes'];
  if (showBody) headers.push('body');
  printTable(
    headers,
    messages.map((m) => {
      const row = [m.msgId, m.topic, String(m.queueId), String(m.queueOffset), new Date(m.storeTimestamp).toISOString(), m.tags ?? '', m.keys.join(' '), String(m.body.length)];
      if (showBody) row.push(bodyText(m.body) ?? `base64:${Buffer.from(m.body).toString('base64')}`);
      return row;
    }),
  );
}
