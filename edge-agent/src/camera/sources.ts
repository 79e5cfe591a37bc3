import type { CameraConfig } from './config.ts';
import type { CameraSourceDeps } from './ffmpeg-source.ts';
import { FileCameraSource } from './file.ts';
import { RtspCameraSource } from './rtsp.ts';
import type { CameraSource } from './types.ts';

/** The camera source implementations, picked by the config's `type`. */
export function createCameraSource(config: CameraConfig, deps: CameraSourceDeps): CameraSource {
  switch (config.type) {
    case 'rtsp':
      return new RtspCameraSource(config, deps);
    case 'file':
      return new FileCameraSource(config, deps);
  }
}
