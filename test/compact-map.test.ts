import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactMap } from '../client/compact-map.js';

describe('CompactMap', () => {
  it('holds one entry without a Map and behaves like a Map', () => {
    const map = new CompactMap<number, string>();
    assert.equal(map.size, 0);
    assert.equal(map.get(1), undefined);
    assert.equal(map.has(1), false);
    assert.equal(map.delete(1), false);
    map.set(1, 'one');
    assert.equal(map.size, 1);
    assert.equal(map.get(1), 'one');
    assert.equal(map.has(1), true);
    assert.equal(map.get(2), undefined);
    assert.equal(map.delete(2), false);
    map.set(1, 'uno');
    assert.equal(map.size, 1);
    assert.deepEqual([...map], [[1, 'uno']]);
    assert.equal(map.delete(1), true);
    assert.equal(map.size, 0);
    assert.deepEqual([...map.values()], []);
  });

  it('moves to a Map on a second key, keeping order and every entry', () => {
    const map = new CompactMap<string, number>();
    map.set('a', 1).set('b', 2).set('c', 3);
    assert.equal(map.size, 3);
    assert.deepEqual([...map.keys()], ['a', 'b', 'c']);
    assert.deepEqual([...map.values()], [1, 2, 3]);
    assert.equal(map.delete('a'), true);
    assert.equal(map.delete('a'), false);
    assert.equal(map.get('b'), 2);
    assert.deepEqual([...map.entries()], [
      ['b', 2],
      ['c', 3],
    ]);
    // Back to one entry, still correct; and cleared, empty.
    map.delete('b');
    assert.equal(map.size, 1);
    assert.equal(map.get('c'), 3);
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.get('c'), undefined);
    map.set('d', 4);
    assert.deepEqual([...map], [['d', 4]]);
  });

  it('allows deleting while iterating, as a Map does', () => {
    const map = new CompactMap<string, number>();
    map.set('x', 1);
    for (const [key] of map) map.delete(key);
    assert.equal(map.size, 0);
    map.set('x', 1).set('y', 2).set('z', 3);
    const seen: string[] = [];
    for (const [key] of map) {
      seen.push(key);
      map.delete(key);
    }
    assert.deepEqual(seen, ['x', 'y', 'z']);
    assert.equal(map.size, 0);
  });
});
