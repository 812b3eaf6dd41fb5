import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckTracker } from '../src/supervisor/index.ts';

test('live is the newest version only when every worker acked it', () => {
  const t = new AckTracker();
  t.addWorker('a');
  t.addWorker('b');
  assert.equal(t.allLive, false);
  t.published('1');
  t.ack('a', '1');
  assert.equal(t.live, undefined, 'worker b runs nothing yet');
  t.ack('b', '1');
  assert.equal(t.allLive, true);
  t.published('2');
  t.ack('b', '2');
  assert.equal(t.live, '1', 'the fleet runs 1 until a also runs 2');
  assert.equal(t.allLive, false);
  t.ack('a', '2');
  assert.equal(t.allLive, true);
});

test('a respawned worker counts as not live until it acks', () => {
  const t = new AckTracker();
  t.addWorker('a');
  t.published('1');
  t.ack('a', '1');
  t.removeWorker('a');
  assert.equal(t.allLive, false, 'no workers');
  t.addWorker('a');
  assert.equal(t.allLive, false);
  t.ack('a', '1');
  assert.equal(t.allLive, true);
});

test('bind errors are reported per worker and cleared by a clean ack', () => {
  const t = new AckTracker();
  t.addWorker('a');
  t.published('1');
  t.ack('a', '1', [{ name: '0.0.0.0:80', error: 'EACCES' }]);
  assert.deepEqual(t.fleet().bindErrors, [{ worker: 'a', name: '0.0.0.0:80', error: 'EACCES' }]);
  t.ack('a', '1', [{ name: '0.0.0.0:80' }]);
  assert.deepEqual(t.fleet().bindErrors, []);
});
