/**
 * A broker's presence on its name servers: the NameServerRegistrar of the addresses it last
 * advertised, registered again at once after each topic change, and, for a slave configured
 * without haMasterAddress, following the HA address the name servers give for its group's master
 * (RocketMQ's updateMasterHAServerAddrPeriodically; a configured address always wins).
 */
import { PetrelError } from '../common/errors.js';
import type { TopicQueueData } from '../api/nameServer.js';
import type { BrokerNetwork } from '../api/network.js';
import type { BrokerConfig } from './BrokerConfig.js';
import { NameServerRegistrar } from './NameServerRegistrar.js';

export interface BrokerRegistrationOptions {
  readonly config: BrokerConfig;
  /** The transport to the name servers; without one the broker cannot advertise itself. */
  readonly network: BrokerNetwork | undefined;
  /** The topics to register, as they are now. */
  readonly topics: () => TopicQueueData[];
  /** A slave: replicate from this master HA address from now on. */
  readonly followMaster: (haAddress: string) => Promise<void>;
  /** A slave: its master's remoting address, as the name servers answer it (config sync). */
  readonly masterBroker?: (brokerAddress: string) => void;
}

export class BrokerRegistration {
  readonly #o: BrokerRegistrationOptions;
  #registrar: NameServerRegistrar | undefined;
  /** The master HA address learned from the name servers. */
  #followed: string | undefined;
  #stopped = false;

  constructor(options: BrokerRegistrationOptions) {
    this.#o = options;
  }

  /**
   * Registers with every name server of config.namesrvAddr, now, every registerNameServerPeriod
   * and after each topic change, advertising `brokerAddr` (its remoting server) and `haAddr`.
   * Resolves after the first round; a second call replaces the advertised addresses.
   */
  async advertise(brokerAddr: string, haAddr?: string): Promise<void> {
    const c = this.#o.config;
    if (c.namesrvAddr.trim() === '') throw new PetrelError('ERR_CONFIG_INVALID', `broker ${c.brokerName} has no namesrvAddr to register with`);
    const network = this.#o.network;
    if (network === undefined) {
      throw new PetrelError('ERR_CONFIG_INVALID', `broker ${c.brokerName} was started without a network to reach its name servers (BrokerStartOptions.network; startBroker() supplies the remoting one)`);
    }
    await this.#registrar?.stop();
    this.#registrar = new NameServerRegistrar({
      namesrvAddr: c.namesrvAddr,
      network,
      identity: { clusterName: c.brokerClusterName, brokerName: c.brokerName, brokerId: c.brokerId, brokerAddr },
      ...(haAddr === undefined ? {} : { haAddr }),
      periodMs: c.registerNameServerPeriod,
      topics: this.#o.topics,
      onRegistered: (_ns, result) => {
        this.#follow(result.haMasterAddr);
        if (c.brokerRole === 'SLAVE' && result.masterAddr !== undefined && !this.#stopped) this.#o.masterBroker?.(result.masterAddr);
      },
    });
    await this.#registrar.start();
  }

  /** A topic changed: register again now rather than at the next period. */
  registerNow(): void {
    this.#registrar?.registerNow();
  }

  /** Unregisters and stops the heartbeats. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#registrar?.stop();
  }

  #follow(haMasterAddr: string | undefined): void {
    const c = this.#o.config;
    if (c.brokerRole !== 'SLAVE' || c.haMasterAddress !== '' || haMasterAddr === undefined) return;
    if (haMasterAddr === this.#followed || this.#stopped) return;
    this.#followed = haMasterAddr;
    this.#o.followMaster(haMasterAddr).catch(() => {
      this.#followed = undefined; // tried again at the next registration
    });
  }
}
