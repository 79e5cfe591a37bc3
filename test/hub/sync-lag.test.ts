// Agents that do not keep up, end to end: a real hub (SQLite, embedded broker) with a short lag time, devices
// reporting their retained status through the broker. One stays behind an erasure, one keeps a full outbox:
// each gets one sync_lag alert that says how far behind and since when, resolved once it has caught up.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { provision, type RunningHub, startHub, tempDir } from './harness.ts';
import { makeIdentity, SimDevice } from './sim-device.ts';

interface Listed {
  id: number;
  kind: string;
  details: Record<string, unknown>;
  resolvedAt: number | null;
  resolution: string | null;
}

const lagSeconds = 0.3;

describe('sync lag alerts', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let slow: SimDevice;
  let full: SimDevice;

  const alertsOf = async (device: string) =>
    (await hub.api<{ alerts: Listed[] }>('GET', `/api/v1/alerts?deviceId=${device}&kind=sync_lag`)).alerts;

  async function waitForAlerts(device: string, accept: (alerts: Listed[]) => boolean): Promise<Listed[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const alerts = await alertsOf(device);
      if (accept(alerts)) return alerts;
      if (Date.now() > deadline)
        throw new Error(`no such sync_lag alerts of ${device}: ${JSON.stringify(alerts)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async () => {
    hub = await startHub({
      dataDir: dir.path,
      store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
      devices: { syncLagSeconds: lagSeconds, maxBacklog: 5 },
    });
    const [slowId, fullId] = await Promise.all([
      makeIdentity('site-l', 'cam-slow'),
      makeIdentity('site-l', 'cam-full'),
    ]);
    await provision(hub, 'site-l', [slowId, fullId]);
    slow = new SimDevice(slowId, hub.brokerUrl!);
    full = new SimDevice(fullId, hub.brokerUrl!);
    await slow.connect();
    await full.connect();
  });

  after(async () => {
    await slow?.close();
    await full?.close();
    await hub?.close();
    dir.dispose();
  });

  test('an agent behind an erasure for longer than the lag time gets one alert, resolved when it applies it', async () => {
    full.publishStatus({ state: 'online', rosterSeq: 0, backlog: 0 });
    slow.publishStatus({ state: 'online', rosterSeq: 0, backlog: 0 });
    const { person } = await hub.api<{ person: { id: string } }>(
      'POST',
      '/api/v1/people',
      { displayName: 'Ada', siteIds: ['site-l'] },
      201,
    );
    const erasedAt = Date.now();
    await hub.api('DELETE', `/api/v1/people/${person.id}`);
    full.publishStatus({ state: 'online', rosterSeq: 1, backlog: 0 });

    const [alert] = await waitForAlerts('cam-slow', (alerts) => alerts.length > 0);
    const { behindSince, behindSeconds, ...details } = alert!.details;
    assert.deepEqual(details, {
      reason: 'roster',
      rosterSeqApplied: 0,
      siteRosterSeq: 1,
      behindBy: 1,
      firstMissing: { seq: 1, kind: 'erase' },
    });
    assert.ok(Math.abs((behindSince as number) - erasedAt) < 1000, 'behind since the erase change');
    assert.equal(typeof behindSeconds, 'number');
    assert.ok(Date.now() - erasedAt >= lagSeconds * 1000, 'not before the lag time');
    assert.equal(alert!.resolvedAt, null);

    // Several more checks while it stays behind: still one alert.
    await new Promise((resolve) => setTimeout(resolve, lagSeconds * 3000));
    assert.equal((await alertsOf('cam-slow')).length, 1);
    assert.deepEqual(await alertsOf('cam-full'), [], 'the agent that applied the erasure is not reported');

    slow.publishStatus({ state: 'online', rosterSeq: 1, backlog: 0 });
    const [resolved] = await waitForAlerts('cam-slow', (alerts) => alerts[0]?.resolvedAt != null);
    assert.equal(resolved!.resolution, 'caught up: roster #1 applied');
    const open = await hub.api<{ alerts: Listed[] }>(
      'GET',
      '/api/v1/alerts?deviceId=cam-slow&unacknowledged=true',
    );
    assert.deepEqual(open.alerts, []);
  });

  test('an outbox above the limit for longer than the lag time is reported, and resolved once it drains', async () => {
    const reportedAt = Date.now();
    full.publishStatus({ state: 'online', rosterSeq: 1, backlog: 40 });
    const [alert] = await waitForAlerts('cam-full', (alerts) => alerts.length > 0);
    const { behindSince, behindSeconds: _s, ...details } = alert!.details;
    assert.deepEqual(details, { reason: 'backlog', backlog: 40, maxBacklog: 5 });
    assert.ok((behindSince as number) >= reportedAt - 1000 && (behindSince as number) <= Date.now());
    assert.ok(Date.now() - reportedAt >= lagSeconds * 1000, 'not before the lag time');

    full.publishStatus({ state: 'online', rosterSeq: 1, backlog: 3 });
    const [resolved] = await waitForAlerts('cam-full', (alerts) => alerts[0]?.resolvedAt != null);
    assert.equal(resolved!.resolution, 'caught up: 3 events waiting');
    assert.equal((await alertsOf('cam-full')).length, 1);
  });
});
