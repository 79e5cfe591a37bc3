export * from './config.ts';
export * from './fair-scheduler.ts';
export type { CameraSourceDeps, DecodeSettings } from './ffmpeg-source.ts';
export * from './file.ts';
export * from './latest-frame-slot.ts';
export * from './rtsp.ts';
export * from './sources.ts';
export * from './supervisor.ts';
export type * from './types.ts';
