// Ultra-Light-Fast-Generic-Face-Detector (RFB-320) as exported with its post-processing: scores [1,N,2]
// (background, face) and corner-form boxes [1,N,4] normalised to the input.
import type { Tensor } from '../backends/backend.ts';
import { type Candidate, output } from './candidate.ts';

export interface UltrafaceDecoder {
  kind: 'ultraface';
  scores: string;
  boxes: string;
}

export function decodeUltraface(
  outputs: Readonly<Record<string, Tensor>>,
  decoder: UltrafaceDecoder,
  width: number,
  height: number,
  threshold: number,
): Candidate[] {
  const scores = output(outputs, decoder.scores);
  const boxes = output(outputs, decoder.boxes);
  const count = Math.min(scores.length / 2, boxes.length / 4);
  const found: Candidate[] = [];
  for (let i = 0; i < count; i++) {
    const score = scores[i * 2 + 1]!;
    if (score < threshold) continue;
    const x1 = boxes[i * 4]! * width;
    const y1 = boxes[i * 4 + 1]! * height;
    const x2 = boxes[i * 4 + 2]! * width;
    const y2 = boxes[i * 4 + 3]! * height;
    if (x2 <= x1 || y2 <= y1) continue;
    found.push({ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score });
  }
  return found;
}
