export type { CameraSettings, FaceView, Stage } from './camera-analyser.ts';
export * from './config.ts';
export { type Direction, type DirectionRule, directionOf } from './direction.ts';
export type { PersonMatch } from './fusion.ts';
export type { LatencySummary } from './latency-stats.ts';
export type { Decision, DecisionSink, Gallery } from './types.ts';
export {
  type PipelineCameraStats,
  type PipelineStats,
  VisionPipeline,
  type VisionPipelineDeps,
} from './vision-pipeline.ts';
