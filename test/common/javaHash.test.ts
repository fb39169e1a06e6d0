import test from 'ava';
import { javaHash } from '../../common/javaHash.js';

test('javaHash - matches Java String.hashCode on RocketMQ test vectors', (t) => {
  t.is(javaHash('TagA'), 2598919);
  t.is(javaHash('TagB'), 2598920);
  t.is(javaHash('*'), 42);
  t.is(javaHash(''), 0);
  t.is(javaHash('标签'), 857175);
  t.is(javaHash('TopicTest#OrderID188'), -1231271670);
  t.is(javaHash('polygenelubricants'), -2147483648);
});

test('javaHash - "Aa" and "BB" collide as they do in Java', (t) => {
  t.is(javaHash('Aa'), 2112);
  t.is(javaHash('BB'), 2112);
});

test('javaHash - iterates UTF-16 code units, so a surrogate pair counts twice', (t) => {
  // U+1F600 is \uD83D\uDE00 in UTF-16: 31*0xD83D + 0xDE00
  t.is(javaHash('\u{1F600}'), 31 * 0xd83d + 0xde00);
});
