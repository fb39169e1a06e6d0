import test from 'ava';
import { SUB_ALL, parseTagExpression, tagsCodeOf } from '../../filter/tagExpression.js';

test('tagExpression - "*" and an empty expression take every message, tagged or not', (t) => {
  for (const expression of [SUB_ALL, '', '  *  ', undefined]) {
    const tags = parseTagExpression(expression);
    t.true(tags.all);
    t.true(tags.matchesTagsCode(2_598_919));
    t.true(tags.matchesTagsCode(0));
    t.true(tags.matchesTag('TagA'));
    t.true(tags.matchesTag(undefined));
  }
});

test('tagExpression - a list is split on "||", trimmed, and empty tokens dropped', (t) => {
  const tags = parseTagExpression(' TagA ||TagB||  || TagC ');
  t.false(tags.all);
  t.deepEqual([...tags.tags], ['TagA', 'TagB', 'TagC']);
  t.deepEqual([...tags.codes], [2_598_919, 2_598_920, 2_598_921]);
});

test('tagExpression - the ConsumeQueue check compares Java hash codes', (t) => {
  const tags = parseTagExpression('TagA || TagB');
  t.true(tags.matchesTagsCode(tagsCodeOf('TagA')));
  t.true(tags.matchesTagsCode(2_598_920n), 'a bigint slot value is narrowed like a Java (int) cast');
  t.false(tags.matchesTagsCode(tagsCodeOf('TagC')));
  t.true(tags.matchesTagsCode(undefined), 'no code: the exact check decides');
});

test('tagExpression - a message without tags never matches a tag list', (t) => {
  const tags = parseTagExpression('TagA');
  t.is(tagsCodeOf(undefined), 0);
  t.is(tagsCodeOf(''), 0);
  t.false(tags.matchesTagsCode(0));
  t.false(tags.matchesTag(undefined));
  t.false(tags.matchesTag(''));
});

test('tagExpression - "Aa" and "BB" collide at the ConsumeQueue and are told apart by the exact check', (t) => {
  const tags = parseTagExpression('Aa');
  t.is(tagsCodeOf('BB'), 2112);
  t.true(tags.matchesTagsCode(tagsCodeOf('BB')), 'the hash alone cannot tell them apart');
  t.true(tags.matchesTag('Aa'));
  t.false(tags.matchesTag('BB'));
});

test('tagExpression - tags are case-sensitive', (t) => {
  const tags = parseTagExpression('TagA');
  t.false(tags.matchesTag('taga'));
  t.false(tags.matchesTagsCode(tagsCodeOf('taga')));
});

test('tagExpression - an expression that names no tag is refused', (t) => {
  t.throws(() => parseTagExpression(' || '), { code: 'ERR_FILTER_SYNTAX' });
});
