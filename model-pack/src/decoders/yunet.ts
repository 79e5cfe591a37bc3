// YuNet (libfacedetection): per stride s, cls/obj [1,N,1], bbox [1,N,4], kps [1,N,10] over a (H/s)x(W/s)
// grid in row-major order; decoded as OpenCV's FaceDetectorYN does.
import type { Tensor } from '../backends/backend.ts';
import type { Point } from '../geometry.ts';
import { type Candidate, output } from './candidate.ts';

export interface YunetDecoder {
  kind: 'yunet';
  strides: number[];
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export function decodeYunet(
  outputs: Readonly<Record<string, Tensor>>,
  decoder: YunetDecoder,
  width: number,
  height: number,
  threshold: number,
): Candidate[] {
  const found: Candidate[] = [];
  for (const s of decoder.strides) {
    const cls = output(outputs, `cls_${s}`);
    const obj = output(outputs, `obj_${s}`);
    const bbox = output(outputs, `bbox_${s}`);
    const kps = output(outputs, `kps_${s}`);
    const cols = Math.floor(width / s);
    const count = cols * Math.floor(height / s);
    for (let i = 0; i < count; i++) {
      const score = Math.sqrt(clamp01(cls[i]!) * clamp01(obj[i]!));
      if (score < threshold) continue;
      const r = Math.floor(i / cols);
      const c = i % cols;
      const cx = (c + bbox[i * 4]!) * s;
      const cy = (r + bbox[i * 4 + 1]!) * s;
      const w = Math.exp(bbox[i * 4 + 2]!) * s;
      const h = Math.exp(bbox[i * 4 + 3]!) * s;
      const landmarks: Point[] = [];
      for (let k = 0; k < 5; k++) {
        landmarks.push({ x: (kps[i * 10 + 2 * k]! + c) * s, y: (kps[i * 10 + 2 * k + 1]! + r) * s });
      }
      found.push({ box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h }, score, landmarks });
    }
  }
  return found;
}
