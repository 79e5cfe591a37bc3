import { secretRefSchema } from '@truepresence/protocol';
import { z } from 'zod';

export const backoffSchema = z
  .strictObject({
    initialMs: z
      .int()
      .min(10)
      .default(500)
      .describe('Upper bound of the first reconnect delay; each failed attempt doubles it.'),
    maxMs: z
      .int()
      .min(10)
      .default(30_000)
      .describe('Cap of the reconnect delay. The actual delay is random in [0, bound] (full jitter).'),
  })
  .refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must be at least initialMs' })
  .describe('Reconnect delays: exponential backoff with full jitter, reset once frames flow again.');
export type BackoffConfig = z.output<typeof backoffSchema>;

const commonKeys = {
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'use letters, digits, "-" and "_" (at most 64)')
    .describe('Camera id, unique on this agent; appears in events and logs (for example "front-door").'),
  fps: z
    .number()
    .positive()
    .max(30)
    .default(5)
    .describe('Most frames per second handed to analysis; frames in between are skipped by the decoder.'),
  maxWidth: z
    .int()
    .min(64)
    .max(3840)
    .default(1280)
    .describe('Frames wider than this are scaled down (aspect kept); smaller ones are left as they are.'),
  openTimeoutMs: z
    .int()
    .min(1000)
    .default(20_000)
    .describe(
      'Watchdog at connection: without a first frame this long after ffmpeg starts, it is restarted.',
    ),
  stallTimeoutMs: z
    .int()
    .min(500)
    .default(10_000)
    .describe('Watchdog while streaming: with no frame for this long, the decoder is restarted.'),
  backoff: backoffSchema.default({ initialMs: 500, maxMs: 30_000 }),
};

export const rtspCredentialsSchema = z
  .strictObject({
    username: z.string().min(1).describe('RTSP user name.'),
    password: secretRefSchema.describe(
      'Where the RTSP password is kept: {"file": PATH} or {"credential": NAME}.',
    ),
  })
  .describe('RTSP login; the password is read from a file or systemd credential, never written here.');

const rtspUrl = z.url({ protocol: /^rtsps?$/ }).refine(
  (text) => {
    const url = new URL(text);
    return url.hostname !== '' && url.username === '' && url.password === '';
  },
  {
    message:
      'write the URL as rtsp://HOST[:PORT]/PATH without user:password@ and put the login in "credentials"',
  },
);

export const rtspCameraSchema = z
  .strictObject({
    type: z.literal('rtsp').describe('An RTSP camera, decoded by the system ffmpeg.'),
    ...commonKeys,
    url: rtspUrl.describe('Stream URL, rtsp://HOST[:PORT]/PATH, without credentials.'),
    credentials: rtspCredentialsSchema.optional(),
    transport: z
      .enum(['tcp', 'udp'])
      .default('tcp')
      .describe('RTP transport; tcp survives lossy links and NAT, udp has less latency on a clean LAN.'),
  })
  .describe('A camera reached over RTSP.');
export type RtspCameraConfig = z.output<typeof rtspCameraSchema>;

export const fileCameraSchema = z
  .strictObject({
    type: z.literal('file').describe('A local video file played at its own pace, for demos and tests.'),
    ...commonKeys,
    path: z.string().min(1).describe('Path of the video file.'),
    loop: z.boolean().default(true).describe('Start again from the beginning at the end of the file.'),
  })
  .describe('A local video file standing in for a camera.');
export type FileCameraConfig = z.output<typeof fileCameraSchema>;

export const cameraConfigSchema = z
  .discriminatedUnion('type', [rtspCameraSchema, fileCameraSchema])
  .describe('One camera; "type" picks the source implementation.');
export type CameraConfig = z.output<typeof cameraConfigSchema>;

export const camerasConfigSchema = z
  .array(cameraConfigSchema)
  .default([])
  .refine((cameras) => new Set(cameras.map((c) => c.id)).size === cameras.length, {
    message: 'camera ids must be unique',
  })
  .describe('The cameras this agent analyses.');
