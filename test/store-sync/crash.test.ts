// kill -9 of the agent at random points of a burst of decisions: every event the agent accepted reaches the
// hub side exactly once, and the device's hash chain there has no gap.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { createLogger } from '@truepresence/protocol';
import { track } from '../helpers/processes.ts';
import { waitForEvent } from '../helpers/wait.ts';
import { TestPeer } from '../peer/peer.ts';
import { type AgentSetup, openAgent, provision } from './agent.ts';
import { aedesBroker } from './brokers.ts';

const TRIALS = 20;
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tp-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface ChildRun {
  exitCode: number | null;
  killed: boolean;
  stderr: string;
  /** Whether the hub acknowledged anything during the run, i.e. the child was connected. */
  acked: boolean;
}

interface StartedChild {
  /** Decisions it appends once running. */
  count: number;
  /** Lets the child open the store and run; SIGKILLs it once it has printed `killAfterLines` lines. */
  run(killAfterLines: number, accepted: Set<string>, beforeKill?: (run: ChildRun) => void): Promise<ChildRun>;
}

/** Spawns the child agent now (node and tsx take a while to start); it waits for `run` to begin. */
function startChild(setup: AgentSetup, count: number, create: boolean): StartedChild {
  const child = track(
    spawn(
      process.execPath,
      ['--import', 'tsx', 'test/store-sync/agent-child.ts', JSON.stringify({ setup, count, create })],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  const state: ChildRun = { exitCode: null, killed: false, stderr: '', acked: false };
  child.stderr.on('data', (chunk: Buffer) => {
    state.stderr += chunk.toString();
  });
  const closed = new Promise<ChildRun>((resolve) =>
    child.once('close', (code) => {
      state.exitCode = code;
      resolve(state);
    }),
  );
  return {
    count,
    run(killAfterLines, accepted, beforeKill = () => {}) {
      let lines = 0;
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [word, value] = line.split(' ');
        if (word === 'accepted' && value) accepted.add(value);
        if (word === 'acked') state.acked = true;
        if (++lines === killAfterLines && !state.killed) {
          state.killed = true;
          beforeKill(state);
          child.kill('SIGKILL');
        }
      });
      child.stdin.end('go\n');
      return closed;
    },
  };
}

describe('agent killed with SIGKILL during a burst of decisions', () => {
  it(`delivers every accepted event exactly once with a gap-free chain (${TRIALS} kills)`, async () => {
    const broker = await aedesBroker();
    const device = provision(dir, broker.url);
    const peer = new TestPeer({
      url: broker.url,
      site: 'site-a',
      siteKey: device.siteKey,
      hubKey: device.hubKey,
    });
    peer.registerDevice(device.setup.device, device.devicePublicKey);
    await peer.start();
    try {
      const accepted = new Set<string>();
      let kills = 0;
      let wills = 0;
      let next = startChild(device.setup, randomInt(20, 80), true);
      for (let trial = 0; trial < TRIALS; trial++) {
        const current = next;
        next = startChild(device.setup, trial + 1 < TRIALS ? randomInt(20, 80) : 5, false);
        let will: Promise<unknown> | undefined;
        // It prints `ready`, one line per decision, at least one `acked` and `drained`: the kill always comes.
        const run = await current.run(randomInt(1, current.count + 4), accepted, (killed) => {
          if (!killed.acked) return;
          will = waitForEvent(
            peer,
            'status',
            (s: { status: { state: string } }) => s.status.state === 'offline',
            'the last will',
          );
        });
        assert.ok(run.killed, run.stderr);
        kills++;
        if (will !== undefined) {
          await will;
          wills++;
        }
      }
      const last = await next.run(Number.POSITIVE_INFINITY, accepted);
      assert.equal(last.exitCode, 0, last.stderr);

      assert.equal(kills, TRIALS);
      assert.ok(wills > 0, 'the broker published the last will of a killed agent');
      for (const id of accepted)
        assert.ok(peer.events.has(id), `accepted event ${id} never reached the peer`);
      const chain = peer.chain(device.setup.device);
      assert.ok(chain.gapFree, 'the chain at the peer has a gap or a broken link');
      assert.equal(chain.seqs.length, peer.events.size, 'each event is stored once');
      assert.ok(chain.seqs.length >= accepted.size);
      assert.deepEqual(peer.alerts, []);
      assert.equal(peer.statuses.get(device.setup.device)?.state, 'offline');

      const agent = openAgent(device.setup, false, createLogger({ level: 'silent', name: 'check' }));
      const stats = agent.outbox.stats();
      await agent.close();
      assert.equal(stats.pending, 0);
      assert.equal(
        stats.head.seq,
        chain.seqs.length,
        'every committed event, printed or not, reached the peer',
      );
    } finally {
      await peer.stop();
      await broker.stop();
    }
  });
});
