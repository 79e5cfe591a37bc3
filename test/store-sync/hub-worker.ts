// The hub side of the drain bench in its own thread, as it would run on its own machine: aedes and the
// test peer. Started by bench.ts with the device's public key and the site's keys in workerData; 'start'
// marks the beginning of the drain, 'stop' answers with the stored ids and the thread's CPU time since.
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { HubSigningKey, SiteKey } from '@truepresence/protocol';
import { TestPeer } from '../peer/peer.ts';
import { aedesBroker } from './brokers.ts';
import { threadCpuMs } from './thread-cpu.ts';

const data = workerData as {
  device: string;
  devicePublicKey: KeyObject;
  siteKey: SiteKey;
  hubKey: HubSigningKey;
};
const broker = await aedesBroker();
const peer = new TestPeer({ url: broker.url, site: 'site-a', siteKey: data.siteKey, hubKey: data.hubKey });
peer.registerDevice(data.device, data.devicePublicKey);
await peer.start();
let startCpuMs = 0;
parentPort!.on('message', async (message: 'start' | 'stop') => {
  if (message === 'start') {
    startCpuMs = threadCpuMs();
    parentPort!.postMessage({ started: true });
    return;
  }
  const cpuMs = threadCpuMs() - startCpuMs;
  const stored = [...peer.events.keys()];
  await peer.stop();
  await broker.stop();
  parentPort!.postMessage({ stored, cpuMs });
});
parentPort!.postMessage({ url: broker.url });
