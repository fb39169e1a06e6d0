/**
 * A BrokerApi whose broker is at the other end of a remoting link (BrokerApiServer). Every reply
 * is parsed into its declared type before it is returned. Requests that wait on the broker
 * (long-polling pulls, membership waits) get the broker's hold added to their deadline.
 *
 * A dead or unreachable broker fails calls with ERR_SERVICE_NOT_AVAILABLE (or ERR_REMOTE for a
 * connection lost mid-request); the link reconnects on the next call.
 */
import type { BrokerApi, Message } from '../../api/BrokerApi.js';
import { operationEntries, trimArguments } from '../../api/operations.js';
import { REPLY as R, rec, str } from '../../api/parse.js';
import { PetrelError } from '../../common/errors.js';
import { checkMaxFrameBytes } from './Frame.js';
import { checkSendReply, replyBudget } from './replyBounds.js';
import { RpcClient, type RpcClientOptions } from './RpcClient.js';

export interface RemoteBrokerApiOptions extends RpcClientOptions {
  /** The broker name expected behind the address; `connectBrokerApi` asks when absent. */
  readonly brokerName?: string;
}

// The operations are installed on each instance from the table (see the constructor).
export interface RemoteBrokerApi extends Omit<BrokerApi, 'brokerName'> {}

export class RemoteBrokerApi implements BrokerApi {
  readonly #rpc: RpcClient;
  readonly #timeoutMs: number;
  /** What this end can read back in one reply frame. */
  readonly #replyBudget: number;
  #brokerName: string;

  /** A link opened lazily, on the first call; `brokerName` is what the caller expects there. */
  constructor(address: string, options: RemoteBrokerApiOptions & { brokerName: string }) {
    this.#brokerName = options.brokerName;
    this.#rpc = new RpcClient(address, options);
    this.#timeoutMs = options.requestTimeoutMs ?? 3000;
    this.#replyBudget = replyBudget(checkMaxFrameBytes(options.maxFrameBytes));
    const self = this as unknown as Record<string, unknown>;
    for (const [name, op] of operationEntries()) {
      if (op.kind === 'oneway') {
        self[name] = (...args: unknown[]): void => this.#rpc.notify(name, trimArguments(args));
        continue;
      }
      self[name] = async (...args: unknown[]): Promise<unknown> => {
        // A batch is either answered in one reply or not sent: the broker refuses it too, against its own limit.
        if (name === 'send') checkSendReply(args[0] as readonly Message[], this.#brokerName, this.#replyBudget);
        const timeoutMs = op.hold === undefined ? this.#timeoutMs : this.#timeoutMs + Math.max(0, op.hold.holdMs(args));
        return op.reply(R, await this.#rpc.call(name, trimArguments(args), timeoutMs), name);
      };
    }
  }

  /** Connects to the broker served at `address` and asks its name; rejects if it cannot be reached. */
  static async connect(address: string, options: RemoteBrokerApiOptions = {}): Promise<RemoteBrokerApi> {
    const api = new RemoteBrokerApi(address, { ...options, brokerName: options.brokerName ?? '' });
    try {
      const hello = await api.hello();
      if (options.brokerName !== undefined && options.brokerName !== hello.brokerName) {
        throw new PetrelError('ERR_CONFIG_INVALID', `${address} serves broker ${hello.brokerName}, not ${options.brokerName}`);
      }
      api.#brokerName = hello.brokerName;
      return api;
    } catch (err) {
      api.close();
      throw err;
    }
  }

  get brokerName(): string {
    return this.#brokerName;
  }

  get address(): string {
    return this.#rpc.address;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#rpc.connected;
  }

  close(): void {
    this.#rpc.close();
  }

  /** Who is behind the address. */
  async hello(): Promise<{ brokerName: string }> {
    const r = rec(R, await this.#rpc.call('$hello', []), 'hello');
    return { brokerName: str(R, r['brokerName'], 'brokerName') };
  }
}

/** Connects to the broker served at `address` and asks its name; rejects if it cannot be reached. */
export function connectBrokerApi(address: string, options: RemoteBrokerApiOptions = {}): Promise<RemoteBrokerApi> {
  return RemoteBrokerApi.connect(address, options);
}
