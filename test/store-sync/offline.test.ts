// The broker goes down while the agent keeps deciding; when it is back, the backlog drains to the hub side
// with the chain intact. Run against aedes and against Mosquitto with password authentication.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureLogger } from '../helpers/logs.ts';
import { waitForEvent } from '../helpers/wait.ts';
import { TestPeer } from '../peer/peer.ts';
import { decision, openAgent, provision, type TestAgent } from './agent.ts';
import { aedesBroker, mosquittoBroker, type TestBroker } from './brokers.ts';

const BACKLOG = 1000;
const dir = mkdtempSync(join(tmpdir(), 'tp-offline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function drained(agent: TestAgent): Promise<void> {
  while (agent.outbox.stats().pending > 0) {
    await waitForEvent(agent.link.publisher, 'acked', () => true, 'acks from the peer');
  }
}

const brokers: Array<{ name: string; make: () => Promise<TestBroker & { dispose?(): Promise<void> }> }> = [
  { name: 'aedes', make: aedesBroker },
  {
    name: 'Mosquitto with passwords',
    make: () => mosquittoBroker({ users: { 'site-a.door-1': 'device-secret', hub: 'hub-secret' } }),
  },
];

describe('broker down while the agent decides', () => {
  for (const { name, make } of brokers) {
    it(`drains ${BACKLOG} decisions made offline once ${name} is back, chain intact`, async () => {
      const broker = await make();
      const caseDir = mkdtempSync(join(dir, 'case-'));
      const device = provision(caseDir, broker.url);
      const withAuth = name.startsWith('Mosquitto');
      if (withAuth) {
        const passwordFile = join(caseDir, 'broker.password');
        writeFileSync(passwordFile, 'device-secret\n', { mode: 0o600 });
        device.setup.username = 'site-a.door-1';
        device.setup.passwordFile = passwordFile;
      }
      const peer = new TestPeer({
        url: broker.url,
        site: 'site-a',
        siteKey: device.siteKey,
        hubKey: device.hubKey,
        ...(withAuth ? { username: 'hub', password: 'hub-secret' } : {}),
      });
      peer.registerDevice('door-1', device.devicePublicKey);
      await peer.start();
      const log = captureLogger('info');
      const agent = openAgent(device.setup, true, log.logger);
      try {
        const draining = waitForEvent(agent.link, 'draining', () => true, 'the link to drain');
        agent.link.start();
        await draining;
        for (let i = 0; i < 10; i++) agent.outbox.append(decision(i));
        await drained(agent);

        const down = waitForEvent(agent.link, 'disconnected', () => true, 'the link to notice');
        await broker.stop();
        await down;
        for (let i = 10; i < 10 + BACKLOG; i++) agent.outbox.append(decision(i));
        assert.equal(agent.outbox.stats().pending, BACKLOG);
        assert.equal(peer.events.size, 10);

        await broker.start();
        await drained(agent);
        const chain = peer.chain('door-1');
        assert.equal(peer.events.size, 10 + BACKLOG, 'nothing lost');
        assert.ok(chain.gapFree);
        assert.equal(chain.seqs.length, 10 + BACKLOG);
        assert.deepEqual(peer.alerts, []);
        await waitForEvent(
          peer,
          'status',
          (s: { status: { state: string; backlog?: number } }) =>
            s.status.state === 'online' && s.status.backlog === 0,
          'a status with an empty backlog',
        );
        assert.ok(log.lines.some((l) => l.includes('disconnected from the broker')));
      } finally {
        await agent.close();
        await peer.stop();
        await broker.stop();
        await broker.dispose?.();
      }
      assert.equal(peer.statuses.get('door-1')?.state, 'offline', 'a clean stop publishes offline');
    });
  }

  it('reports a refused login with a coded error and keeps deciding', async () => {
    const broker = await mosquittoBroker({ users: { 'site-a.door-1': 'device-secret' } });
    const caseDir = mkdtempSync(join(dir, 'case-'));
    const device = provision(caseDir, broker.url);
    const passwordFile = join(caseDir, 'broker.password');
    writeFileSync(passwordFile, 'wrong-secret', { mode: 0o600 });
    device.setup.username = 'site-a.door-1';
    device.setup.passwordFile = passwordFile;
    const log = captureLogger('info');
    const agent = openAgent(device.setup, true, log.logger);
    try {
      agent.link.start();
      // Poll the log; the limit only turns a hang into a failure.
      for (let i = 0; !log.lines.some((l) => l.includes('TP_AGENT_MQTT_REFUSED')); i++) {
        assert.ok(i < 2000, 'no TP_AGENT_MQTT_REFUSED in the log');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(agent.outbox.append(decision(0)).seq, 1);
      assert.equal(agent.link.connected, false);
    } finally {
      await agent.close();
      await broker.dispose();
    }
  });
});
