// The one inference interface. onnxruntime-node implements it (onnxruntime.ts); a Coral Edge TPU backend
// would be another file here running .tflite models through the Edge TPU runtime (see the README).

export const executionProviders = ['cpu', 'cuda', 'tensorrt', 'openvino', 'webgpu', 'coreml', 'dml'] as const;
export type ExecutionProvider = (typeof executionProviders)[number];

export interface Tensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface TensorInfo {
  name: string;
  /** Numbers for fixed dimensions, names for dynamic ones. */
  shape: ReadonlyArray<number | string>;
}

export interface BackendOptions {
  /** Wanted execution providers, best first; CPU is always the last resort. */
  providers: readonly ExecutionProvider[];
  intraOpThreads: number;
  interOpThreads: number;
}

export interface ProviderFallback {
  provider: string;
  reason: string;
}

export interface BackendDescription {
  backend: string;
  requestedProviders: readonly string[];
  /** Providers the loaded model actually runs on. */
  providers: readonly string[];
  /** Requested providers that could not be used, and why. */
  fallbacks: readonly ProviderFallback[];
  intraOpThreads: number;
  interOpThreads: number;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
}

/** One loaded model. Calls to `run` must not overlap when callers reuse input buffers. */
export interface InferenceBackend {
  load(model: Uint8Array): Promise<void>;
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  describe(): BackendDescription;
  dispose(): Promise<void>;
}

export type InferenceBackendFactory = (options: BackendOptions) => InferenceBackend;
