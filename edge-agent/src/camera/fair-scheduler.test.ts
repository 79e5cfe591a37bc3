import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { FairScheduler } from './fair-scheduler.ts';
import type { Frame } from './types.ts';

function frame(seq: number): Frame {
  return { data: Buffer.alloc(12), width: 2, height: 2, capturedAt: Date.now(), seq };
}

test('cameras with a waiting frame are served in turn, however fast each one produces', async () => {
  const served: string[] = [];
  const cameras = ['a', 'b', 'c'];
  let seq = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const scheduler = new FairScheduler(
    async (cameraId) => {
      served.push(cameraId);
      if (served.length === 12) finish();
      // Camera "a" floods: several frames per analysis; "b" and "c" send one each.
      for (let i = 0; i < 5; i++) scheduler.offer('a', frame(++seq));
      scheduler.offer('b', frame(++seq));
      scheduler.offer('c', frame(++seq));
    },
    captureLogger().logger,
    1,
  );
  for (const id of cameras) scheduler.addCamera(id);
  scheduler.offer('a', frame(++seq));
  scheduler.offer('b', frame(++seq));
  scheduler.offer('c', frame(++seq));
  scheduler.start();
  await done;
  await scheduler.stop();
  assert.deepEqual(served.slice(0, 12), ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
  assert.ok((scheduler.stats('a')?.framesDropped ?? 0) > (scheduler.stats('b')?.framesDropped ?? 0));
});

test('a camera that is idle is skipped, not waited for', async () => {
  const served: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let seq = 0;
  const scheduler = new FairScheduler(
    async (cameraId) => {
      served.push(cameraId);
      if (served.length < 4) scheduler.offer('b', frame(++seq));
      else finish();
    },
    captureLogger().logger,
    1,
  );
  scheduler.addCamera('a');
  scheduler.addCamera('b');
  scheduler.start();
  scheduler.offer('b', frame(++seq));
  await done;
  await scheduler.stop();
  assert.deepEqual(served, ['b', 'b', 'b', 'b']);
  assert.equal(scheduler.stats('a')?.framesAnalysed, 0);
});

test('a slow analysis gets the latest frame; the ones in between are dropped and counted', async () => {
  const analysed: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let secondDone!: () => void;
  const done = new Promise<void>((resolve) => {
    secondDone = resolve;
  });
  const scheduler = new FairScheduler(
    async (_cameraId, f) => {
      analysed.push(f.seq);
      if (analysed.length === 1) await gate;
      else secondDone();
    },
    captureLogger().logger,
    1,
  );
  scheduler.addCamera('a');
  scheduler.start();
  scheduler.offer('a', frame(1));
  // While frame 1 is being analysed, 50 more arrive: only the last one waits.
  await new Promise((resolve) => setImmediate(resolve));
  for (let seq = 2; seq <= 51; seq++) scheduler.offer('a', frame(seq));
  release();
  await done;
  await scheduler.stop();
  assert.deepEqual(analysed, [1, 51]);
  assert.deepEqual(
    { analysed: scheduler.stats('a')?.framesAnalysed, dropped: scheduler.stats('a')?.framesDropped },
    { analysed: 2, dropped: 49 },
  );
});

test('a failing analysis is counted and logged, and the other cameras go on', async () => {
  const { logger, lines } = captureLogger();
  const served: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let seq = 0;
  const scheduler = new FairScheduler(
    async (cameraId) => {
      served.push(cameraId);
      if (served.length === 6) finish();
      if (served.length < 5) {
        scheduler.offer('bad', frame(++seq));
        scheduler.offer('good', frame(++seq));
      }
      if (cameraId === 'bad') throw new Error('model exploded');
    },
    logger,
    1,
  );
  scheduler.addCamera('bad');
  scheduler.addCamera('good');
  scheduler.offer('bad', frame(++seq));
  scheduler.offer('good', frame(++seq));
  scheduler.start();
  await done;
  await scheduler.stop();
  assert.equal(scheduler.stats('bad')?.analysisErrors, 3);
  assert.equal(scheduler.stats('bad')?.framesAnalysed, 0);
  assert.equal(scheduler.stats('good')?.framesAnalysed, 3);
  const warnings = lines.filter((l) => l.includes('TP_AGENT_CAMERA_ANALYSIS_FAILED'));
  // Logged once, then rate-limited.
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /model exploded/);
});

test('stop waits for the analysis in progress and takes no further frame', async () => {
  let inProgress = false;
  let finished = 0;
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const scheduler = new FairScheduler(
    async () => {
      inProgress = true;
      started();
      await gate;
      inProgress = false;
      finished += 1;
    },
    captureLogger().logger,
    1,
  );
  scheduler.addCamera('a');
  scheduler.start();
  scheduler.offer('a', frame(1));
  await running;
  scheduler.offer('a', frame(2));
  const stopped = scheduler.stop();
  release();
  await stopped;
  assert.equal(inProgress, false);
  assert.equal(finished, 1);
});

/** An analysis that records how many run at once, overall and per camera, and waits until released. */
function gatedAnalysis() {
  const active = new Map<string, number>();
  const waiting: Array<() => void> = [];
  const served: string[] = [];
  let overall = 0;
  const peak = { overall: 0, perCamera: 0 };
  let onStart = () => {};
  const analyse = async (cameraId: string) => {
    served.push(cameraId);
    overall += 1;
    active.set(cameraId, (active.get(cameraId) ?? 0) + 1);
    peak.overall = Math.max(peak.overall, overall);
    peak.perCamera = Math.max(peak.perCamera, active.get(cameraId)!);
    onStart();
    await new Promise<void>((resolve) => waiting.push(resolve));
    overall -= 1;
    active.set(cameraId, active.get(cameraId)! - 1);
  };
  return {
    analyse,
    served,
    peak,
    get running() {
      return overall;
    },
    /** Resolves once `n` analyses have started in all. */
    started(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (served.length >= n) resolve();
        };
        onStart = check;
        check();
      });
    },
    releaseAll() {
      for (const release of waiting.splice(0)) release();
    },
  };
}

test('frames of different cameras are analysed together, up to the concurrency', async () => {
  const gated = gatedAnalysis();
  const scheduler = new FairScheduler(gated.analyse, captureLogger().logger, 2);
  for (const id of ['a', 'b', 'c', 'd']) scheduler.addCamera(id);
  scheduler.start();
  let seq = 0;
  for (const id of ['a', 'b', 'c', 'd']) scheduler.offer(id, frame(++seq));
  await gated.started(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(gated.running, 2);
  assert.deepEqual(gated.served, ['a', 'b']);
  // Each release lets the cameras still waiting in, in turn, never more than two at once.
  while (gated.served.length < 4) {
    gated.releaseAll();
    await new Promise((resolve) => setImmediate(resolve));
  }
  gated.releaseAll();
  await scheduler.stop();
  assert.deepEqual(gated.served, ['a', 'b', 'c', 'd']);
  assert.equal(gated.peak.overall, 2);
});

test('a camera never has two frames in flight, whatever the concurrency', async () => {
  const gated = gatedAnalysis();
  const scheduler = new FairScheduler(gated.analyse, captureLogger().logger, 4);
  scheduler.addCamera('a');
  scheduler.addCamera('b');
  scheduler.start();
  let seq = 0;
  scheduler.offer('a', frame(++seq));
  await gated.started(1);
  // While "a" is busy its new frames wait in its slot; "b" is served meanwhile.
  for (let i = 0; i < 5; i++) scheduler.offer('a', frame(++seq));
  scheduler.offer('b', frame(++seq));
  await gated.started(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(gated.served, ['a', 'b']);
  gated.releaseAll();
  await gated.started(3);
  gated.releaseAll();
  await scheduler.stop();
  assert.deepEqual(gated.served, ['a', 'b', 'a']);
  assert.equal(gated.peak.perCamera, 1);
  assert.equal(scheduler.stats('a')?.framesDropped, 4);
});

test('stop waits for every analysis in flight', async () => {
  const gated = gatedAnalysis();
  const scheduler = new FairScheduler(gated.analyse, captureLogger().logger, 2);
  scheduler.addCamera('a');
  scheduler.addCamera('b');
  scheduler.start();
  scheduler.offer('a', frame(1));
  scheduler.offer('b', frame(2));
  await gated.started(2);
  let stopped = false;
  const stopping = scheduler.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false);
  gated.releaseAll();
  await stopping;
  assert.equal(gated.running, 0);
  assert.equal(scheduler.stats('a')?.framesAnalysed, 1);
  assert.equal(scheduler.stats('b')?.framesAnalysed, 1);
});
