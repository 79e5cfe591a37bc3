import type { FileCameraConfig } from './config.ts';
import { type CameraSourceDeps, FfmpegCameraSource } from './ffmpeg-source.ts';

/** A local video read at its own frame rate (`-re`), looped by default: a camera for demos and tests. */
export class FileCameraSource extends FfmpegCameraSource {
  constructor(
    private readonly config: FileCameraConfig,
    deps: CameraSourceDeps,
  ) {
    super(config, deps);
  }

  protected override inputArgs(): string[] {
    return ['-re', ...(this.config.loop ? ['-stream_loop', '-1'] : []), '-i', this.config.path];
  }

  protected override endIsFinal(): boolean {
    return !this.config.loop;
  }
}
