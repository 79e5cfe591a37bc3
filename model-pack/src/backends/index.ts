import type { InferenceBackendFactory } from './backend.ts';
import { OnnxRuntimeBackend } from './onnxruntime.ts';

/** The inference backends, picked by name (config `backend`). */
export const inferenceBackends = {
  onnxruntime: (options) => new OnnxRuntimeBackend(options),
} as const satisfies Record<string, InferenceBackendFactory>;

export type InferenceBackendName = keyof typeof inferenceBackends;
