import { readSecret } from '@truepresence/protocol';
import type { RtspCameraConfig } from './config.ts';
import { type CameraSourceDeps, FfmpegCameraSource } from './ffmpeg-source.ts';

/**
 * An RTSP camera decoded by the system ffmpeg. The password is read from its secret at each `start()` and
 * only ever put in the URL handed to ffmpeg; every log line and health detail is scrubbed of it.
 */
export class RtspCameraSource extends FfmpegCameraSource {
  private url: string;
  private password = '';

  constructor(
    private readonly config: RtspCameraConfig,
    deps: CameraSourceDeps,
  ) {
    super(config, deps);
    this.url = config.url;
  }

  protected override async prepare(): Promise<void> {
    const credentials = this.config.credentials;
    if (!credentials) return;
    this.password = readSecret(credentials.password, this.deps.secrets)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    const url = new URL(this.config.url);
    // Fully percent-encoded, which ffmpeg decodes; the URL setters alone would leave "%" as it is.
    url.username = encodeURIComponent(credentials.username);
    url.password = encodeURIComponent(this.password);
    this.url = url.href;
  }

  protected override secrets(): string[] {
    if (this.password === '') return [];
    return [this.password, encodeURIComponent(this.password)];
  }

  protected override inputArgs(): string[] {
    return ['-rtsp_transport', this.config.transport, '-i', this.url];
  }
}
