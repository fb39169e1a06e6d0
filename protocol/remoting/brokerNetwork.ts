/**
 * The broker's network over the remoting transport: name-server links and links to another
 * broker's operations. Passed to Broker.start (startBroker() does) so that the broker itself
 * imports no transport.
 */
import type { BrokerNetwork } from '../../api/network.js';
import { NameServerLink } from './NameServerProtocol.js';
import { connectBrokerApi } from './RemoteBrokerApi.js';

export const remotingNetwork: BrokerNetwork = {
  nameServer: (address, options) => new NameServerLink(address, options),
  broker: (address, brokerName) => connectBrokerApi(address, { brokerName }),
};
