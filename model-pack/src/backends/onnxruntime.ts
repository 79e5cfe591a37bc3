import * as ort from 'onnxruntime-node';
import { ModelErrorCode, modelError } from '../errors.ts';
import type {
  BackendDescription,
  BackendOptions,
  ExecutionProvider,
  InferenceBackend,
  ProviderFallback,
  Tensor,
  TensorInfo,
} from './backend.ts';
import { type OutputMessage, SessionThread } from './session-thread.ts';

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
}

/**
 * onnxruntime-node: CPU is bundled; CUDA/TensorRT need their libraries, other providers other builds.
 * onnxruntime-node runs a model synchronously on the calling thread, so each model has its own worker
 * thread: the main thread prepares the next input (and serves other cameras) while a model runs.
 */
export class OnnxRuntimeBackend implements InferenceBackend {
  private readonly options: BackendOptions;
  private thread: SessionThread | undefined;
  private inputs: TensorInfo[] = [];
  private outputs: TensorInfo[] = [];
  private providers: ExecutionProvider[] = [];
  private fallbacks: ProviderFallback[] = [];

  constructor(options: BackendOptions) {
    this.options = options;
  }

  async load(model: Uint8Array): Promise<void> {
    const available = new Set(ort.listSupportedBackends().map((b) => b.name));
    const wanted = [...this.options.providers.filter((p) => p !== 'cpu'), 'cpu' as const];
    const base: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: this.options.intraOpThreads,
      interOpNumThreads: this.options.interOpThreads,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    this.fallbacks = [];
    const candidates: ExecutionProvider[] = [];
    const thread = new SessionThread();
    this.thread = thread;
    for (const provider of wanted) {
      if (available.has(provider)) candidates.push(provider);
      else this.fallbacks.push({ provider, reason: 'not included in this onnxruntime-node build' });
    }
    // [tensorrt, cuda, cpu] first, then [cuda, cpu], then [cpu]: each provider keeps the later ones as its
    // fallback for nodes it cannot run.
    for (let i = 0; i < candidates.length; i++) {
      const list = candidates.slice(i);
      try {
        const { metadata } = await thread.request({
          kind: 'load',
          model,
          options: { ...base, executionProviders: list },
        });
        this.inputs = metadata?.inputs ?? [];
        this.outputs = metadata?.outputs ?? [];
        this.providers = list;
        return;
      } catch (error) {
        if (list.length === 1) {
          this.thread = undefined;
          await thread.terminate();
          throw modelError(
            ModelErrorCode.loadFailed,
            `onnxruntime cannot load the model: ${firstLine(error)}`,
            {},
            error,
          );
        }
        this.fallbacks.push({ provider: candidates[i]!, reason: firstLine(error) });
      }
    }
  }

  async run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const thread = this.thread;
    if (!thread || this.providers.length === 0) {
      throw modelError(ModelErrorCode.notStarted, 'model is not loaded');
    }
    // A copy goes to the thread, so the caller may reuse its buffer as soon as this returns.
    const feeds: Record<string, Tensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, tensor] of Object.entries(inputs)) {
      const data = tensor.data.slice();
      feeds[name] = { data, dims: tensor.dims };
      transfer.push(data.buffer);
    }
    let results: Record<string, OutputMessage>;
    try {
      results = (await thread.request({ kind: 'run', feeds }, transfer)).outputs ?? {};
    } catch (error) {
      throw modelError(ModelErrorCode.inferenceFailed, `inference failed: ${firstLine(error)}`, {}, error);
    }
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!(value.data instanceof Float32Array)) {
        throw modelError(ModelErrorCode.outputInvalid, `output ${name} is ${value.type}, expected float32`);
      }
      out[name] = { data: value.data, dims: value.dims };
    }
    return out;
  }

  describe(): BackendDescription {
    return {
      backend: 'onnxruntime',
      requestedProviders: this.options.providers,
      providers: this.providers,
      fallbacks: this.fallbacks,
      intraOpThreads: this.options.intraOpThreads,
      interOpThreads: this.options.interOpThreads,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  async dispose(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    this.providers = [];
    this.inputs = [];
    this.outputs = [];
    if (!thread) return;
    try {
      await thread.request({ kind: 'release' });
    } finally {
      await thread.terminate();
    }
  }
}
