// The `store` bench section: 1:N search (from the cache's bench), outbox appends with fsync, and the drain
// of an offline backlog through a real broker (aedes) to a peer that verifies and stores each event by id.
// Run it with `npm run -s bench -- --json --only store`.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createLogger } from '@truepresence/protocol';
import { benchSearch, type SearchBenchResult } from '../../edge-agent/src/cache/bench.ts';
import type { BenchContext } from '../bench.ts';
import type { Section } from '../report.ts';
import { decision, openAgent, provision } from './agent.ts';
import { threadCpuMs } from './thread-cpu.ts';

const APPENDS = 2000;
/** An offline day at a busy entrance: long enough that connecting and the first round trips do not dominate. */
const BACKLOG = 20_000;

const round = (value: number) => Math.round(value);

/** Signed decisions committed one by one (one transaction and fsync each), per second. */
async function benchAppends(dir: string): Promise<number> {
  const { setup } = provision(mkdtempSync(join(dir, 'appends-')), 'mqtt://127.0.0.1:9');
  const agent = openAgent(setup, true, createLogger({ level: 'silent', name: 'bench' }));
  try {
    const started = performance.now();
    for (let i = 0; i < APPENDS; i++) agent.outbox.append(decision(i));
    return APPENDS / ((performance.now() - started) / 1000);
  } finally {
    await agent.close();
  }
}

interface DrainResult {
  drainEventsPerSec: number;
  lost: number;
  /** CPU time per event of the agent's thread and of the hub side's (broker and peer) during the drain. */
  drainCpuUsPerEvent: { agent: number; hub: number };
}

/**
 * A backlog made offline, drained from connect until the last ack; `lost` counts accepted events the peer
 * lacks. The hub side (aedes and the peer) runs in a worker thread, as it would on its own machine.
 */
async function benchDrain(dir: string): Promise<DrainResult> {
  const device = provision(mkdtempSync(join(dir, 'drain-')), 'mqtt://127.0.0.1:9');
  const hubSide = new Worker(
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => {
      register();
      return import(${JSON.stringify(new URL('./hub-worker.ts', import.meta.url).href)});
    })`,
    {
      eval: true,
      workerData: {
        device: device.setup.device,
        devicePublicKey: device.devicePublicKey,
        siteKey: device.siteKey,
        hubKey: device.hubKey,
      },
    },
  );
  try {
    const [{ url }] = (await once(hubSide, 'message')) as [{ url: string }];
    const agent = openAgent({ ...device.setup, url }, true, createLogger({ level: 'warn', name: 'bench' }));
    let accepted: string[];
    let seconds: number;
    let agentCpuMs: number;
    try {
      accepted = Array.from({ length: BACKLOG }, (_, i) => agent.outbox.append(decision(i)).id);
      const done = new Promise<void>((resolve) => {
        const check = () => {
          if (agent.outbox.stats().pending > 0) return;
          agent.link.publisher.off('acked', check);
          resolve();
        };
        agent.link.publisher.on('acked', check);
      });
      hubSide.postMessage('start');
      await once(hubSide, 'message');
      const started = performance.now();
      const startCpuMs = threadCpuMs();
      agent.link.start();
      await done;
      seconds = (performance.now() - started) / 1000;
      agentCpuMs = threadCpuMs() - startCpuMs;
    } finally {
      await agent.close();
    }
    hubSide.postMessage('stop');
    const [{ stored, cpuMs }] = (await once(hubSide, 'message')) as [{ stored: string[]; cpuMs: number }];
    const ids = new Set(stored);
    return {
      drainEventsPerSec: BACKLOG / seconds,
      lost: accepted.filter((id) => !ids.has(id)).length,
      drainCpuUsPerEvent: { agent: (agentCpuMs * 1000) / BACKLOG, hub: (cpuMs * 1000) / BACKLOG },
    };
  } finally {
    await hubSide.terminate();
  }
}

export const storeBenchSection: Section<BenchContext> = {
  name: 'store',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'tp-bench-store-'));
    try {
      const { search }: SearchBenchResult = await benchSearch();
      const outboxAppendsPerSec = round(await benchAppends(dir));
      const drain = await benchDrain(dir);
      return {
        store: {
          search,
          outboxAppendsPerSec,
          drainEventsPerSec: round(drain.drainEventsPerSec),
          lost: drain.lost,
          drainCpuUsPerEvent: {
            agent: round(drain.drainCpuUsPerEvent.agent),
            hub: round(drain.drainCpuUsPerEvent.hub),
          },
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  gate(result) {
    const store = result.store as {
      search: SearchBenchResult['search'];
      drainEventsPerSec: number;
      lost: number;
    };
    const failures: string[] = [];
    if (store.search.n100000.p95Ms > 5)
      failures.push(`search p95 at 100k is ${store.search.n100000.p95Ms} ms (> 5)`);
    if (store.search.recallAt1 < 0.995)
      failures.push(`search recall@1 is ${store.search.recallAt1} (< 0.995)`);
    if (store.drainEventsPerSec < 2000)
      failures.push(`backlog drains at ${store.drainEventsPerSec} events/s (< 2000)`);
    if (store.lost !== 0) failures.push(`${store.lost} accepted events never reached the peer`);
    return failures;
  },
};
