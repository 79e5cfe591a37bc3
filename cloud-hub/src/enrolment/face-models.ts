// The model pack that makes enrolment templates, loaded once on first use (or at start-up when configured):
// a hub that never enrols never loads onnxruntime or the models. A failed load is reported as
// TP_HUB_ENROL_UNAVAILABLE and tried again on the next enrolment.
import type { cosineSimilarity, decodeImage, ModelPack } from '@truepresence/model-pack';
import type { Logger } from '@truepresence/protocol';
import type { HubConfig } from '../config.ts';
import { HubErrorCode, hubError } from '../errors.ts';

/** The loaded pack with the model-pack functions enrolment uses around it. */
export interface FaceToolkit {
  pack: ModelPack;
  decodeImage: typeof decodeImage;
  cosineSimilarity: typeof cosineSimilarity;
}

async function load(config: HubConfig['enrolment'], logger: Logger): Promise<FaceToolkit> {
  const modelPack = await import('@truepresence/model-pack');
  const manifest = config.modelPack ?? modelPack.defaultManifestPath;
  const pack = await modelPack.loadModelPack(manifest, {
    ...(config.modelCacheDir ? { cacheDir: config.modelCacheDir } : {}),
    logger,
  });
  return { pack, decodeImage: modelPack.decodeImage, cosineSimilarity: modelPack.cosineSimilarity };
}

export class FaceModels {
  readonly #config: HubConfig['enrolment'];
  readonly #logger: Logger;
  #loading: Promise<FaceToolkit> | undefined;

  constructor(config: HubConfig['enrolment'], logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  get loaded(): boolean {
    return this.#loading !== undefined;
  }

  async start(): Promise<void> {
    if (this.#config.loadAtStart) await this.get();
  }

  get(): Promise<FaceToolkit> {
    let loading = this.#loading;
    if (!loading) {
      loading = load(this.#config, this.#logger).catch((error: unknown) => {
        this.#loading = undefined;
        throw hubError(
          HubErrorCode.enrolUnavailable,
          `the enrolment model pack cannot be loaded: ${(error as Error).message}`,
          { manifest: this.#config.modelPack ?? 'default' },
          error,
        );
      });
      this.#loading = loading;
    }
    return loading;
  }

  async stop(): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    const toolkit = await loading?.catch(() => undefined);
    await toolkit?.pack.stop();
  }
}
