import type { Tensor } from '../backends/backend.ts';
import { ModelErrorCode, modelError } from '../errors.ts';
import type { Box, Point } from '../geometry.ts';

/** A raw detection in input-tensor pixels, before NMS. */
export interface Candidate {
  box: Box;
  score: number;
  /** Five points in template order when the detector predicts them. */
  landmarks?: Point[];
}

export function output(outputs: Readonly<Record<string, Tensor>>, name: string): Float32Array {
  const tensor = outputs[name];
  if (!tensor) throw modelError(ModelErrorCode.outputInvalid, `model has no output named ${name}`, { name });
  return tensor.data;
}
