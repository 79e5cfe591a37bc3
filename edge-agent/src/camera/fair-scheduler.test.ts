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
  const scheduler = new FairScheduler(async (cameraId) => {
    served.push(cameraId);
    if (served.length === 12) finish();
    // Camera "a" floods: several frames per analysis; "b" and "c" send one each.
    for (let i = 0; i < 5; i++) scheduler.offer('a', frame(++seq));
    scheduler.offer('b', frame(++seq));
    scheduler.offer('c', frame(++seq));
  }, captureLogger().logger);
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
  const scheduler = new FairScheduler(async (cameraId) => {
    served.push(cameraId);
    if (served.length < 4) scheduler.offer('b', frame(++seq));
    else finish();
  }, captureLogger().logger);
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
  const scheduler = new FairScheduler(async (_cameraId, f) => {
    analysed.push(f.seq);
    if (analysed.length === 1) await gate;
    else secondDone();
  }, captureLogger().logger);
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
  const scheduler = new FairScheduler(async (cameraId) => {
    served.push(cameraId);
    if (served.length === 6) finish();
    if (served.length < 5) {
      scheduler.offer('bad', frame(++seq));
      scheduler.offer('good', frame(++seq));
    }
    if (cameraId === 'bad') throw new Error('model exploded');
  }, logger);
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
  const scheduler = new FairScheduler(async () => {
    inProgress = true;
    started();
    await gate;
    inProgress = false;
    finished += 1;
  }, captureLogger().logger);
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
