// Public API of @truepresence/model-pack: what the edge agent (recognition) and the cloud hub (enrolment)
// call. Everything that touches pixels or models lives behind these names.
export type {
  BackendDescription,
  BackendOptions,
  ExecutionProvider,
  InferenceBackend,
  InferenceBackendFactory,
  ProviderFallback,
  Tensor,
  TensorInfo,
} from './backends/backend.ts';
export { executionProviders } from './backends/backend.ts';
export { type InferenceBackendName, inferenceBackends } from './backends/index.ts';
export { type BenchResult, benchmarkPack } from './benchmark.ts';
export { type ModelPackConfig, modelPackConfigSchema } from './config.ts';
export { ModelErrorCode } from './errors.ts';
export {
  type Evaluation,
  evaluatePack,
  type FaceMetrics,
  type LivenessMetrics,
} from './evaluate.ts';
export { defaultCacheDir, type FetchOptions, type FetchReport, fetchModels } from './fetch.ts';
export type { Affine, Box, Landmarks5, Point } from './geometry.ts';
export { type DecodeOptions, decodeImage, defaultDecodeLimits, type RgbImage, rgbFrame } from './image.ts';
export {
  defaultManifestPath,
  type LoadedManifest,
  loadManifest,
  type ModelPackManifest,
  type ModelRole,
  type ModelThresholds,
  manifestSchema,
  packId,
  parseManifest,
  type QualityLimits,
  yunetMinifasManifestPath,
} from './manifest.ts';
export {
  alignedSize,
  type DetectOptions,
  type Face,
  type FaceAnalysis,
  type FaceCandidate,
  loadModelPack,
  ModelPack,
  type ModelPackOptions,
} from './pack.ts';
export { type FaceQuality, type QualityIssue, qualityIssues } from './quality.ts';
export { benchSection, evalSection, evalTargets, type ReportSection } from './sections.ts';
export { cosineSimilarity, l2Normalize } from './similarity.ts';
