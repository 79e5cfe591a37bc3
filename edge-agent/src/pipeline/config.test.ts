import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTpError, parseConfig } from '@truepresence/protocol';
import { pipelineConfigSchema } from './config.ts';

describe('pipeline config', () => {
  it('fills every default from an empty section', () => {
    const config = parseConfig(pipelineConfigSchema, {}, 'test');
    assert.equal(config.detection.tileColumns, 2);
    assert.equal(config.tracker.maxMissedFrames, 3);
    assert.equal(config.decision.bestShots, 3);
    assert.equal(config.decision.matchThreshold, undefined);
    assert.deepEqual(config.cameras, {});
  });

  it('reads per-camera direction rules, quality overrides and regions', () => {
    const config = parseConfig(
      pipelineConfigSchema,
      {
        cameras: {
          front: {
            entrance: 'main',
            direction: { type: 'line', from: [0, 0.5], to: [1, 0.5] },
            quality: { minInterEyePx: 30 },
            regions: [{ x: 0.3, y: 0.1, width: 0.4, height: 0.4 }],
          },
          back: {
            direction: {
              type: 'zone',
              polygon: [
                [0, 0.5],
                [1, 0.5],
                [1, 1],
              ],
            },
          },
        },
      },
      'test',
    );
    assert.equal(config.cameras.front?.entrance, 'main');
    assert.equal(config.cameras.front?.quality.minInterEyePx, 30);
    assert.equal(config.cameras.back?.direction.type, 'zone');
    assert.deepEqual(config.cameras.back?.regions, []);
  });

  it('rejects unknown keys, points outside the frame and regions past its edge, naming the key path', () => {
    const bad = [
      [{ decision: { budgetMS: 500 } }, 'decision'],
      [
        { cameras: { front: { direction: { type: 'line', from: [0, 1.5], to: [1, 0.5] } } } },
        'cameras.front.direction',
      ],
      [
        { cameras: { front: { regions: [{ x: 0.8, y: 0, width: 0.4, height: 0.5 }] } } },
        'cameras.front.regions[0]',
      ],
    ] as const;
    for (const [raw, path] of bad) {
      assert.throws(
        () => parseConfig(pipelineConfigSchema, raw, 'agent.json'),
        (error: unknown) => isTpError(error, 'TP_CONFIG_INVALID') && error.message.includes(path),
      );
    }
  });
});
