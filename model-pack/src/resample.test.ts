import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RgbImage } from './image.ts';
import { Resampler, type TensorFormat, warpAffine } from './resample.ts';

function image(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  }
  return { data, width, height };
}

const rgb: TensorFormat = { layout: 'NCHW', channels: 'RGB', mean: [0], std: [1] };
const near = (a: number, b: number, eps = 1e-3) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

describe('Resampler', () => {
  it('area-averages when shrinking and normalises per channel', () => {
    const checker = image(8, 8, (x, y) => ((x + y) % 2 === 0 ? [200, 100, 0] : [0, 50, 100]));
    const data = new Float32Array(2 * 2 * 3);
    new Resampler().toTensor(
      checker,
      { x: 0, y: 0, width: 8, height: 8 },
      {
        data,
        offset: 0,
        width: 2,
        height: 2,
        format: { layout: 'NCHW', channels: 'RGB', mean: [100, 75, 50], std: [2] },
      },
      'constant',
    );
    for (let i = 0; i < 4; i++) {
      near(data[i]!, 0);
      near(data[4 + i]!, 0);
      near(data[8 + i]!, 0);
    }
  });

  it('writes NHWC, BGR and grey layouts', () => {
    const solid = image(4, 4, () => [10, 20, 30]);
    const box = { x: 0, y: 0, width: 4, height: 4 };
    const nhwc = new Float32Array(2 * 2 * 3);
    new Resampler().toTensor(
      solid,
      box,
      { data: nhwc, offset: 0, width: 2, height: 2, format: { ...rgb, layout: 'NHWC', channels: 'BGR' } },
      'constant',
    );
    assert.deepEqual([...nhwc.subarray(0, 3)].map(Math.round), [30, 20, 10]);
    const grey = new Float32Array(4);
    new Resampler().toTensor(
      solid,
      box,
      { data: grey, offset: 0, width: 2, height: 2, format: { ...rgb, channels: 'GREY' } },
      'constant',
    );
    near(grey[0]!, 0.299 * 10 + 0.587 * 20 + 0.114 * 30);
  });

  it('fills pixels outside the region with black and mirrors borders on request', () => {
    const ramp = image(4, 1, (x) => [x * 10, 0, 0]);
    const padded = new Float32Array(4 * 2 * 3);
    new Resampler().toTensor(
      ramp,
      { x: 0, y: 0, width: 4, height: 1 },
      { data: padded, offset: 0, width: 4, height: 2, format: { ...rgb, mean: [5], std: [1] } },
      'constant',
      { x: 0, y: 0, width: 4, height: 1 },
    );
    assert.deepEqual([...padded.subarray(0, 8)].map(Math.round), [-5, 5, 15, 25, -5, -5, -5, -5]);
    const mirrored = new Float32Array(6 * 3);
    new Resampler().toTensor(
      ramp,
      { x: -2, y: 0, width: 6, height: 1 },
      { data: mirrored, offset: 0, width: 6, height: 1, format: rgb },
      'reflect',
    );
    assert.deepEqual([...mirrored.subarray(0, 6)].map(Math.round), [20, 10, 0, 10, 20, 30]);
  });

  it('warps with the identity transform without changing a pixel', () => {
    const noise = image(16, 12, (x, y) => [(x * 37 + y * 11) % 256, (x * 7) % 256, (y * 29) % 256]);
    const out = new Uint8Array(noise.data.length);
    warpAffine(noise, [1, 0, 0, 0, 1, 0], 16, 12, out);
    assert.deepEqual(out, noise.data);
  });
});
