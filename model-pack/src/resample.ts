// Every pixel operation that feeds a model: crop + resize into a normalised tensor (separable: area
// averaging when shrinking, bilinear when enlarging) and the affine warp of alignment. Scratch buffers live
// in the Resampler and grow once, so steady-state calls allocate nothing per pixel.
import type { Affine, Box } from './geometry.ts';
import type { RgbImage } from './image.ts';

export type ChannelOrder = 'RGB' | 'BGR' | 'GREY';
export type Layout = 'NCHW' | 'NHWC';
/** How pixels outside the image are filled: black, mirrored (reflect-101) or repeated edge. */
export type Border = 'constant' | 'reflect' | 'clamp';

export interface TensorFormat {
  layout: Layout;
  channels: ChannelOrder;
  /** Per-channel (or single) mean subtracted from 0..255 values. */
  mean: readonly number[];
  /** Per-channel (or single) divisor applied after the mean. */
  std: readonly number[];
}

/** Destination of one image in a (possibly batched) float tensor. */
export interface TensorTarget {
  data: Float32Array;
  /** Element offset of this image (batch slot) inside `data`. */
  offset: number;
  width: number;
  height: number;
  format: TensorFormat;
}

/** Integer rectangle of the tensor that receives the image; the rest is filled with black. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Axis {
  /** Most taps of one output sample. */
  stride: number;
  /** First source pixel of each output sample; its taps are contiguous. */
  first: Int32Array;
  count: Int32Array;
  weight: Float32Array;
}

function mapIndex(i: number, size: number, border: Border): number {
  if (i >= 0 && i < size) return i;
  if (border === 'clamp' || size === 1) return i < 0 ? 0 : size - 1;
  const period = 2 * (size - 1);
  let m = Math.abs(i) % period;
  if (m >= size) m = period - m;
  return m;
}

function growInt(buf: Int32Array, n: number): Int32Array {
  return buf.length >= n ? buf : new Int32Array(n);
}
function growFloat(buf: Float32Array, n: number): Float32Array {
  return buf.length >= n ? buf : new Float32Array(n);
}

const emptyAxis = (): Axis => ({
  stride: 0,
  first: new Int32Array(0),
  count: new Int32Array(0),
  weight: new Float32Array(0),
});

/** Per-channel mean and std of a format (a single value serves every channel). */
function channelNorm(format: TensorFormat): {
  mean: [number, number, number];
  std: [number, number, number];
} {
  const mean = (c: number) => format.mean[c] ?? format.mean[0] ?? 0;
  const std = (c: number) => format.std[c] ?? format.std[0] ?? 1;
  return { mean: [mean(0), mean(1), mean(2)], std: [std(0), std(1), std(2)] };
}

/** Tensor pixels outside `region` become black (0 before normalisation). */
function fillOutside(target: TensorTarget, r: Region): void {
  const { data, offset, width: tw, height: th, format } = target;
  if (r.x <= 0 && r.y <= 0 && r.width >= tw && r.height >= th) return;
  const channels = format.channels === 'GREY' ? 1 : 3;
  const plane = tw * th;
  const nchw = format.layout === 'NCHW';
  const { mean, std } = channelNorm(format);
  for (let c = 0; c < channels; c++) {
    const fill = -mean[c]! / std[c]!;
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        if (x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height) continue;
        data[nchw ? offset + c * plane + y * tw + x : offset + (y * tw + x) * channels + c] = fill;
      }
    }
  }
}

/**
 * Writes an RGB image already at the region's size into `region` of the target tensor: channel order,
 * layout and normalisation as `toTensor`; tensor pixels outside the region become black.
 */
export function rgbToTensor(pixels: RgbImage, target: TensorTarget, region?: Region): void {
  const { data, offset, width: tw, height: th, format } = target;
  const r = region ?? { x: 0, y: 0, width: tw, height: th };
  fillOutside(target, r);
  const {
    mean: [m0, m1, m2],
    std: [s0, s1, s2],
  } = channelNorm(format);
  const plane = tw * th;
  const nchw = format.layout === 'NCHW';
  const grey = format.channels === 'GREY';
  const swap = format.channels === 'BGR';
  const src = pixels.data;
  if (grey) {
    for (let y = 0; y < r.height; y++) {
      let p = y * pixels.width * 3;
      for (let x = 0; x < r.width; x++, p += 3) {
        const pixel = (r.y + y) * tw + r.x + x;
        data[offset + pixel] = (0.299 * src[p]! + 0.587 * src[p + 1]! + 0.114 * src[p + 2]! - m0) / s0;
      }
    }
    return;
  }
  // Bytes take 256 values: each channel's normalised values are computed once, then looked up.
  const lut0 = normalised(m0, s0);
  const lut1 = normalised(m1, s1);
  const lut2 = normalised(m2, s2);
  const first = swap ? 2 : 0;
  const last = swap ? 0 : 2;
  const step = nchw ? 1 : 3;
  const second = nchw ? plane : 1;
  const third = nchw ? 2 * plane : 2;
  for (let y = 0; y < r.height; y++) {
    let p = y * pixels.width * 3;
    let o = offset + ((r.y + y) * tw + r.x) * step;
    for (let x = 0; x < r.width; x++, p += 3, o += step) {
      data[o] = lut0[src[p + first]!]!;
      data[o + second] = lut1[src[p + 1]!]!;
      data[o + third] = lut2[src[p + last]!]!;
    }
  }
}

function normalised(mean: number, std: number): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (v - mean) / std;
  return table;
}

export class Resampler {
  private readonly xAxis = emptyAxis();
  private readonly yAxis = emptyAxis();
  private rows: Float32Array = new Float32Array(0);
  private patch: Uint8Array = new Uint8Array(0);

  /**
   * Filter taps of one axis: source window [start, start+length) onto `out` samples. Taps outside
   * [0, size) are dropped, which blends black in (callers pad other borders beforehand).
   */
  private axis(axis: Axis, start: number, length: number, out: number, size: number): Axis {
    const scale = length / out;
    const stride = scale > 1 ? Math.ceil(scale) + 1 : 2;
    axis.stride = stride;
    axis.first = growInt(axis.first, out);
    axis.count = growInt(axis.count, out);
    axis.weight = growFloat(axis.weight, out * stride);
    for (let i = 0; i < out; i++) {
      // Area average when shrinking (weight = overlap of source pixel [x, x+1) with the output pixel's
      // footprint), bilinear when enlarging.
      const lo = scale > 1 ? start + i * scale : start + (i + 0.5) * scale - 0.5;
      const from = Math.floor(lo);
      const taps = scale > 1 ? Math.min(stride, Math.ceil(lo + scale) - from) : 2;
      const skip = Math.max(0, -from);
      const end = Math.min(taps, size - from);
      axis.first[i] = from + skip;
      axis.count[i] = Math.max(0, end - skip);
      for (let t = skip; t < end; t++) {
        const x = from + t;
        axis.weight[i * stride + t - skip] =
          scale > 1
            ? Math.max(0, Math.min(lo + scale, x + 1) - Math.max(lo, x)) / scale
            : t === 0
              ? 1 - (lo - from)
              : lo - from;
      }
    }
    return axis;
  }

  /** Copies the crop's pixels, with mirrored or repeated borders, into a scratch image. */
  private padded(image: RgbImage, crop: Box, border: 'reflect' | 'clamp'): { image: RgbImage; crop: Box } {
    const x0 = Math.floor(crop.x) - 1;
    const y0 = Math.floor(crop.y) - 1;
    const w = Math.ceil(crop.x + crop.width) + 1 - x0;
    const h = Math.ceil(crop.y + crop.height) + 1 - y0;
    if (this.patch.length < w * h * 3) this.patch = new Uint8Array(w * h * 3);
    const out = this.patch;
    const src = image.data;
    for (let y = 0; y < h; y++) {
      const sy = mapIndex(y0 + y, image.height, border) * image.width;
      for (let x = 0; x < w; x++) {
        const p = (sy + mapIndex(x0 + x, image.width, border)) * 3;
        const o = (y * w + x) * 3;
        out[o] = src[p]!;
        out[o + 1] = src[p + 1]!;
        out[o + 2] = src[p + 2]!;
      }
    }
    return {
      image: { data: out, width: w, height: h },
      crop: { x: crop.x - x0, y: crop.y - y0, width: crop.width, height: crop.height },
    };
  }

  /**
   * Resamples `crop` (source pixels, may reach outside the image) into `region` of the target tensor,
   * converts channels and normalises; tensor pixels outside the region become black.
   */
  toTensor(source: RgbImage, sourceCrop: Box, target: TensorTarget, border: Border, region?: Region): void {
    const outside =
      sourceCrop.x < 0 ||
      sourceCrop.y < 0 ||
      sourceCrop.x + sourceCrop.width > source.width ||
      sourceCrop.y + sourceCrop.height > source.height;
    const { image, crop } =
      outside && border !== 'constant'
        ? this.padded(source, sourceCrop, border)
        : { image: source, crop: sourceCrop };
    const { width: tw, height: th, format } = target;
    const r = region ?? { x: 0, y: 0, width: tw, height: th };
    const data = target.data;
    const plane = tw * th;
    const nchw = format.layout === 'NCHW';
    const offset = target.offset;

    fillOutside(target, r);

    const xa = this.axis(this.xAxis, crop.x, crop.width, r.width, image.width);
    const ya = this.axis(this.yAxis, crop.y, crop.height, r.height, image.height);
    let rowLo = image.height;
    let rowHi = -1;
    for (let y = 0; y < r.height; y++) {
      if (ya.count[y]! === 0) continue;
      rowLo = Math.min(rowLo, ya.first[y]!);
      rowHi = Math.max(rowHi, ya.first[y]! + ya.count[y]! - 1);
    }
    const rowCount = Math.max(0, rowHi - rowLo + 1);
    const outW = r.width;
    const rowStride = outW * 3;
    this.rows = growFloat(this.rows, rowCount * rowStride);
    const rows = this.rows;
    const src = image.data;
    const srcStride = image.width * 3;

    // Horizontal pass over the source rows that contribute.
    const xStride = xa.stride;
    const xFirst = xa.first;
    const xCount = xa.count;
    const xWeight = xa.weight;
    for (let row = 0; row < rowCount; row++) {
      const srcRow = (rowLo + row) * srcStride;
      let o = row * rowStride;
      for (let x = 0; x < outW; x++) {
        let sr = 0;
        let sg = 0;
        let sb = 0;
        let p = srcRow + xFirst[x]! * 3;
        const k = x * xStride;
        const n = xCount[x]!;
        for (let t = 0; t < n; t++, p += 3) {
          const w = xWeight[k + t]!;
          sr += w * src[p]!;
          sg += w * src[p + 1]!;
          sb += w * src[p + 2]!;
        }
        rows[o++] = sr;
        rows[o++] = sg;
        rows[o++] = sb;
      }
    }

    // Vertical pass, channel conversion and normalisation.
    const yStride = ya.stride;
    const grey = format.channels === 'GREY';
    const swap = format.channels === 'BGR';
    const {
      mean: [m0, m1, m2],
      std: [s0, s1, s2],
    } = channelNorm(format);
    for (let y = 0; y < r.height; y++) {
      const k = y * yStride;
      const n = ya.count[y]!;
      const firstRow = (ya.first[y]! - rowLo) * rowStride;
      const oy = r.y + y;
      for (let x = 0; x < outW; x++) {
        let sr = 0;
        let sg = 0;
        let sb = 0;
        let p = firstRow + x * 3;
        for (let t = 0; t < n; t++, p += rowStride) {
          const w = ya.weight[k + t]!;
          sr += w * rows[p]!;
          sg += w * rows[p + 1]!;
          sb += w * rows[p + 2]!;
        }
        const pixel = oy * tw + r.x + x;
        if (grey) {
          data[offset + pixel] = (0.299 * sr + 0.587 * sg + 0.114 * sb - m0) / s0;
          continue;
        }
        const c0 = swap ? sb : sr;
        const c2 = swap ? sr : sb;
        if (nchw) {
          data[offset + pixel] = (c0 - m0) / s0;
          data[offset + plane + pixel] = (sg - m1) / s1;
          data[offset + 2 * plane + pixel] = (c2 - m2) / s2;
        } else {
          data[offset + pixel * 3] = (c0 - m0) / s0;
          data[offset + pixel * 3 + 1] = (sg - m1) / s1;
          data[offset + pixel * 3 + 2] = (c2 - m2) / s2;
        }
      }
    }
  }
}

/**
 * Warps an RGB image with `inverse` (output pixel -> source pixel) into `out` (width x height RGB bytes).
 * When the warp shrinks the image by `scale`, each output pixel averages scale x scale bilinear samples so
 * that small details do not alias. Pixels that fall outside the source are black.
 */
export function warpAffine(
  image: RgbImage,
  inverse: Affine,
  width: number,
  height: number,
  out: Uint8Array,
): void {
  const [a, b, c, d, e, f] = inverse;
  const scale = Math.sqrt(Math.abs(a * e - b * d));
  const k = Math.min(4, Math.max(1, Math.ceil(scale - 0.25)));
  const src = image.data;
  const sw = image.width;
  const sh = image.height;
  const samples = k * k;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let j = 0; j < k; j++) {
        const py = y + (j + 0.5) / k;
        for (let i = 0; i < k; i++) {
          const px = x + (i + 0.5) / k;
          const u = a * px + b * py + c - 0.5;
          const v = d * px + e * py + f - 0.5;
          const x0 = Math.floor(u);
          const y0 = Math.floor(v);
          const fx = u - x0;
          const fy = v - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
            // All four taps inside: the loop below unrolled, same weights in the same order.
            const p = (y0 * sw + x0) * 3;
            const q = p + sw * 3;
            const w00 = (1 - fx) * (1 - fy);
            const w10 = fx * (1 - fy);
            const w01 = (1 - fx) * fy;
            const w11 = fx * fy;
            sr += w00 * src[p]!;
            sg += w00 * src[p + 1]!;
            sb += w00 * src[p + 2]!;
            sr += w10 * src[p + 3]!;
            sg += w10 * src[p + 4]!;
            sb += w10 * src[p + 5]!;
            sr += w01 * src[q]!;
            sg += w01 * src[q + 1]!;
            sb += w01 * src[q + 2]!;
            sr += w11 * src[q + 3]!;
            sg += w11 * src[q + 4]!;
            sb += w11 * src[q + 5]!;
            continue;
          }
          for (let t = 0; t < 4; t++) {
            const xx = x0 + (t & 1);
            const yy = y0 + (t >> 1);
            if (xx < 0 || yy < 0 || xx >= sw || yy >= sh) continue;
            const w = ((t & 1) === 1 ? fx : 1 - fx) * (t >> 1 === 1 ? fy : 1 - fy);
            const p = (yy * sw + xx) * 3;
            sr += w * src[p]!;
            sg += w * src[p + 1]!;
            sb += w * src[p + 2]!;
          }
        }
      }
      const o = (y * width + x) * 3;
      out[o] = Math.round(sr / samples);
      out[o + 1] = Math.round(sg / samples);
      out[o + 2] = Math.round(sb / samples);
    }
  }
}
