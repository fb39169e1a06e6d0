import test from 'ava';
import { allocateAveragely } from '../../client/allocateAveragely.js';

const queues = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('allocateAveragely - 8 queues over 3 members gives [0,1,2] [3,4,5] [6,7]', (t) => {
  const members = ['a', 'b', 'c'];
  t.deepEqual(allocateAveragely(queues(8), members, 'a'), [0, 1, 2]);
  t.deepEqual(allocateAveragely(queues(8), members, 'b'), [3, 4, 5]);
  t.deepEqual(allocateAveragely(queues(8), members, 'c'), [6, 7]);
});

test('allocateAveragely - members beyond the queue count get nothing', (t) => {
  const members = ['a', 'b', 'c', 'd', 'e'];
  t.deepEqual(members.map((m) => allocateAveragely(queues(3), members, m)), [[0], [1], [2], [], []]);
});

test('allocateAveragely - every queue is owned by exactly one member', (t) => {
  for (let q = 0; q <= 20; q++) {
    for (let c = 1; c <= 9; c++) {
      const members = Array.from({ length: c }, (_, i) => `m${i}`);
      const owned = members.flatMap((m) => allocateAveragely(queues(q), members, m));
      t.deepEqual(owned, queues(q), `q=${q} c=${c}`);
    }
  }
});

test('allocateAveragely - an unknown member gets nothing', (t) => {
  t.deepEqual(allocateAveragely(queues(4), ['a'], 'z'), []);
});
