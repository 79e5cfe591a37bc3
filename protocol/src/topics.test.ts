import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolErrorCode } from './errors.ts';
import { hubSubscriptions, parseTopic, topics } from './topics.ts';
import { isTpError } from './tp-error.ts';

test('every topic builder round-trips through parseTopic', () => {
  assert.equal(topics.events('hq', 'door-1'), 'tp/v1/hq/door-1/events');
  assert.deepEqual(parseTopic(topics.events('hq', 'door-1')), {
    kind: 'events',
    site: 'hq',
    device: 'door-1',
  });
  assert.deepEqual(parseTopic(topics.acks('hq', 'd')), { kind: 'acks', site: 'hq', device: 'd' });
  assert.deepEqual(parseTopic(topics.status('hq', 'd')), { kind: 'status', site: 'hq', device: 'd' });
  assert.deepEqual(parseTopic(topics.syncRequest('hq', 'd')), {
    kind: 'syncRequest',
    site: 'hq',
    device: 'd',
  });
  assert.equal(topics.syncRequest('hq', 'd'), 'tp/v1/hq/d/sync/req');
  assert.deepEqual(parseTopic(topics.syncResponse('hq', 'd')), {
    kind: 'syncResponse',
    site: 'hq',
    device: 'd',
  });
  assert.deepEqual(parseTopic(topics.roster('hq')), { kind: 'roster', site: 'hq' });
  // A device may be called "roster" without confusing the site roster topic.
  assert.deepEqual(parseTopic(topics.events('hq', 'roster')), {
    kind: 'events',
    site: 'hq',
    device: 'roster',
  });
});

test('malformed topics are refused with TP_PROTO_TOPIC_INVALID', () => {
  const bad = [
    '',
    'tp/v2/hq/d/events',
    'tp/v1',
    'tp/v1/hq',
    'tp/v1/HQ/d/events',
    'tp/v1/hq/+/events',
    'tp/v1/hq/#',
    'tp/v1/hq/d/events/extra',
    'tp/v1/hq/d/sync/res',
    'tp/v1/hq/d/unknown',
    'tp/v1/hq/d',
    'tp/v1/hq/roster/x',
    `tp/v1/${'a'.repeat(64)}/d/events`,
  ];
  for (const topic of bad) {
    assert.throws(
      () => parseTopic(topic),
      (e) => isTpError(e, ProtocolErrorCode.topicInvalid),
      topic,
    );
  }
  assert.throws(
    () => topics.events('hq', 'a/b'),
    (e) => isTpError(e, ProtocolErrorCode.topicInvalid),
  );
});

test('hub subscriptions are shared only where replicas must split the work', () => {
  assert.deepEqual(hubSubscriptions(), {
    events: 'tp/v1/+/+/events',
    status: 'tp/v1/+/+/status',
    syncRequest: 'tp/v1/+/+/sync/req',
  });
  const shared = hubSubscriptions('hub');
  assert.equal(shared.events, '$share/hub/tp/v1/+/+/events');
  assert.equal(shared.syncRequest, '$share/hub/tp/v1/+/+/sync/req');
  assert.equal(shared.status, 'tp/v1/+/+/status');
});
