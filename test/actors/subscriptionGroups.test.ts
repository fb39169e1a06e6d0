import test from 'ava';
import { isPetrelError } from '../../common/errors.js';
import { startBroker } from '../helpers/broker.js';

test('subscription groups - consumeEnable=false refuses the group\'s pulls with ERR_NO_PERMISSION; other groups still pull', async (t) => {
  const broker = await startBroker(t);
  await broker.send([{ topic: 'Gated', body: new Uint8Array([1]) }], 0);
  await broker.updateSubscriptionGroup({ groupName: 'g-off', consumeEnable: false });
  const err = await t.throwsAsync(broker.pull({ group: 'g-off', topic: 'Gated', queueId: 0, offset: 0, maxMsgNums: 1 }));
  t.true(isPetrelError(err, 'ERR_NO_PERMISSION'));
  t.is((await broker.pull({ group: 'g-on', topic: 'Gated', queueId: 0, offset: 0, maxMsgNums: 1 })).status, 'FOUND');
  await broker.updateSubscriptionGroup({ groupName: 'g-off', consumeEnable: true });
  t.is((await broker.pull({ group: 'g-off', topic: 'Gated', queueId: 0, offset: 0, maxMsgNums: 1 })).status, 'FOUND');
  t.true(isPetrelError(await t.throwsAsync(broker.updateSubscriptionGroup({ groupName: 'g-off', colour: 1 } as never)), 'ERR_CONFIG_INVALID'));
});
