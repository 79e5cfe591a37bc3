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

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
}

function tensorInfo(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : [] }));
}

/** onnxruntime-node: CPU is bundled; CUDA/TensorRT need their libraries, other providers other builds. */
export class OnnxRuntimeBackend implements InferenceBackend {
  private readonly options: BackendOptions;
  private session: ort.InferenceSession | undefined;
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
    for (const provider of wanted) {
      if (available.has(provider)) candidates.push(provider);
      else this.fallbacks.push({ provider, reason: 'not included in this onnxruntime-node build' });
    }
    // [tensorrt, cuda, cpu] first, then [cuda, cpu], then [cpu]: each provider keeps the later ones as its
    // fallback for nodes it cannot run.
    for (let i = 0; i < candidates.length; i++) {
      const list = candidates.slice(i);
      try {
        this.session = await ort.InferenceSession.create(model, { ...base, executionProviders: list });
        this.providers = list;
        return;
      } catch (error) {
        if (list.length === 1) {
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
    const session = this.session;
    if (!session) throw modelError(ModelErrorCode.notStarted, 'model is not loaded');
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(inputs)) {
      feeds[name] = new ort.Tensor('float32', tensor.data, tensor.dims);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds);
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
      inputs: this.session ? tensorInfo(this.session.inputMetadata) : [],
      outputs: this.session ? tensorInfo(this.session.outputMetadata) : [],
    };
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
