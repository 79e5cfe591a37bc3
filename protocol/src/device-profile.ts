// Device profiles: one JSON file per kind of edge device in device-profiles/, validated here so that the
// agent (which applies them) and provisioning (which names one in a bundle) read them the same way.
// `--profile auto` is chooseDeviceProfile() over what probeDevice() finds on the machine.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { parseConfig, readConfigFile } from './config.ts';
import { ProtocolErrorCode, protocolError } from './errors.ts';

export const deviceProfileNames = ['cpu-x86_64', 'cpu-arm64', 'jetson-orin', 'intel-ncs', 'coral'] as const;
export type DeviceProfileName = (typeof deviceProfileNames)[number];

/** The shipped profiles, beside the workspaces (an install keeps the repository layout). */
export const deviceProfilesDir = join(import.meta.dirname, '..', '..', 'device-profiles');

/** onnxruntime execution providers a profile may ask for; a subset of the model pack's list. */
export const profileExecutionProviders = ['tensorrt', 'cuda', 'openvino', 'cpu'] as const;

const devicePath = z
  .string()
  .regex(/^\/dev\/[A-Za-z0-9_./-]+$/, 'expected a device node such as /dev/apex_0');

export const deviceProfileSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'use lower-case letters, digits, "-" and "_"')
      .describe('Profile name, the file name without .json; what `--profile NAME` picks.'),
    description: z
      .string()
      .min(1)
      .max(400)
      .describe('What hardware this profile is for, in one or two lines.'),
    arch: z
      .array(z.enum(['x64', 'arm64']))
      .min(1)
      .default(['x64', 'arm64'])
      .describe('CPU architectures (Node `process.arch`) the profile runs on.'),
    inference: z
      .strictObject({
        backend: z
          .literal('onnxruntime')
          .default('onnxruntime')
          .describe('Inference backend of the model pack; onnxruntime-node is the one this build ships.'),
        providers: z
          .array(z.enum(profileExecutionProviders))
          .min(1)
          .default(['cpu'])
          .refine((list) => new Set(list).size === list.length, { message: 'list each provider once' })
          .refine((list) => list.at(-1) === 'cpu', {
            message: 'end the list with "cpu": it is the fallback when an accelerator is missing',
          })
          .describe(
            'onnxruntime execution providers, best first; a missing one falls back to CPU with a log line.',
          ),
        intraOpThreads: z
          .int()
          .min(1)
          .max(64)
          .default(1)
          .describe(
            'Threads inside one model run (onnxruntime intra_op_num_threads). Each model already runs on its own thread with several frames in flight, so on CPU inference 1 keeps the cores busy without oversubscribing them.',
          ),
        interOpThreads: z
          .int()
          .min(1)
          .max(16)
          .default(1)
          .describe('Threads across independent graph branches (onnxruntime inter_op_num_threads).'),
      })
      .prefault({})
      .describe('How models run on this device.'),
    accelerator: z
      .strictObject({
        kind: z
          .enum(['none', 'nvidia-gpu', 'intel-openvino', 'edge-tpu'])
          .default('none')
          .describe('The inference accelerator this kind of device has.'),
        supported: z
          .boolean()
          .default(true)
          .describe(
            'Whether this build can use the accelerator; false means the CPU path runs and the agent says why at start.',
          ),
        note: z
          .string()
          .max(600)
          .default('')
          .describe('What the installer must know: libraries needed, limits, what runs when it is missing.'),
        devices: z
          .array(devicePath)
          .default([])
          .describe(
            'Device nodes the accelerator uses (grant them with the systemd drop-in of this profile).',
          ),
      })
      .prefault({})
      .describe('Inference accelerator.'),
    decode: z
      .strictObject({
        hwaccel: z
          .enum(['none', 'cuda', 'vaapi', 'qsv', 'drm'])
          .default('none')
          .describe('ffmpeg `-hwaccel` family; "none" decodes on the CPU (or through `decoders`).'),
        device: z
          .string()
          .min(1)
          .optional()
          .describe('`-hwaccel_device`, for example /dev/dri/renderD128 (vaapi) or a GPU index (cuda).'),
        decoders: z
          .partialRecord(z.enum(['h264', 'hevc']), z.string().regex(/^[a-z0-9_]+$/))
          .default({})
          .describe(
            'ffmpeg decoder forced per stream codec (`-c:v NAME` before `-i`), for hardware decoders that are not an -hwaccel, such as Jetson nvv4l2.',
          ),
      })
      .prefault({})
      .describe('How ffmpeg decodes camera streams.'),
    analysis: z
      .strictObject({
        fps: z
          .number()
          .positive()
          .max(30)
          .default(5)
          .describe('Default frames per second analysed per camera (a camera may set its own).'),
        maxWidth: z
          .int()
          .min(64)
          .max(3840)
          .default(1280)
          .describe('Input scale: frames wider than this are scaled down before analysis (aspect kept).'),
        tileColumns: z
          .int()
          .min(1)
          .max(4)
          .default(2)
          .describe('Detection tiles across the frame, so distant faces are large enough for the detector.'),
        tileRows: z.int().min(1).max(4).default(2).describe('Detection tiles down the frame.'),
      })
      .prefault({})
      .describe('Analysis load this device carries per camera.'),
  })
  .superRefine((profile, ctx) => {
    if (!profile.accelerator.supported) {
      if (profile.inference.providers.join() !== 'cpu') {
        ctx.addIssue({
          code: 'custom',
          path: ['inference', 'providers'],
          message: 'an unsupported accelerator runs the CPU path: set providers to ["cpu"]',
        });
      }
      if (profile.accelerator.note === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['accelerator', 'note'],
          message: 'say why the accelerator is not supported and what runs instead',
        });
      }
    }
  })
  .describe(
    'A device profile: inference providers, hardware decode and analysis load of one kind of device.',
  );
export type DeviceProfile = z.output<typeof deviceProfileSchema>;

/** Validates a profile file; its `name` must match the file name. Errors are TP_CONFIG_INVALID with key paths. */
export function readDeviceProfile(path: string): DeviceProfile {
  const profile = parseConfig(deviceProfileSchema, readConfigFile(path), path);
  const fileName = basename(path, '.json');
  if (profile.name !== fileName) {
    throw protocolError(
      ProtocolErrorCode.configInvalid,
      `invalid config in ${path}:\n  name: "${profile.name}" differs from the file name; rename one of them`,
      { source: path, problems: [`name: "${profile.name}" differs from the file name "${fileName}"`] },
    );
  }
  return profile;
}

/** Profile names available in a folder (the shipped ones by default). */
export function listDeviceProfiles(dir = deviceProfilesDir): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort();
}

/** What `--profile auto` looks at. Gathered by {@link probeDevice}; tests pass their own. */
export interface DeviceProbes {
  /** Node's `process.arch`. */
  arch: string;
  /** Text of /etc/nv_tegra_release, null when the file is absent. */
  tegraRelease: string | null;
  /** Edge TPU (PCIe / M.2 Coral) device nodes found, e.g. /dev/apex_0. */
  edgeTpuDevices: string[];
  /** OpenVINO runtime libraries found (libopenvino.so*). */
  openvinoLibraries: string[];
}

export interface DeviceProfileChoice {
  name: DeviceProfileName;
  /** One sentence saying what was found; the agent logs it. */
  reason: string;
}

/** Jetson Orin needs L4T R35 (JetPack 5) or later; R32 boards (Nano, TX2) have no TensorRT build for us. */
const minimumTegraRelease = 35;

/** Picks the profile for what was found: Jetson, then Edge TPU, then OpenVINO, then the CPU architecture. */
export function chooseDeviceProfile(probes: DeviceProbes): DeviceProfileChoice {
  if (probes.tegraRelease !== null) {
    const match = /#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)/.exec(probes.tegraRelease);
    const release = match ? `R${match[1]}.${match[2]}` : 'unknown release';
    if (match && Number(match[1]) >= minimumTegraRelease) {
      return {
        name: 'jetson-orin',
        reason: `found /etc/nv_tegra_release (L4T ${release}): NVIDIA Jetson with JetPack 5 or later, TensorRT/CUDA with CPU fallback and nvv4l2 hardware decode`,
      };
    }
    if (probes.arch === 'arm64') {
      return {
        name: 'cpu-arm64',
        reason: `found /etc/nv_tegra_release (L4T ${release}) but the jetson-orin profile needs L4T R${minimumTegraRelease} (JetPack 5) or later: running the arm64 CPU profile`,
      };
    }
  }
  const tpu = probes.edgeTpuDevices[0];
  if (tpu !== undefined) {
    return {
      name: 'coral',
      reason: `found Edge TPU device ${tpu}: coral profile; the Edge TPU backend is not available in this build, so models run on the CPU`,
    };
  }
  const openvino = probes.openvinoLibraries[0];
  if (openvino !== undefined) {
    return {
      name: 'intel-ncs',
      reason: `found the OpenVINO runtime (${openvino}): OpenVINO execution provider with CPU fallback`,
    };
  }
  if (probes.arch === 'x64') {
    return { name: 'cpu-x86_64', reason: 'no accelerator found on this x64 machine: CPU profile' };
  }
  if (probes.arch === 'arm64') {
    return { name: 'cpu-arm64', reason: 'no accelerator found on this arm64 machine: CPU profile' };
  }
  throw protocolError(
    ProtocolErrorCode.configInvalid,
    `--profile auto knows no profile for CPU architecture "${probes.arch}" (onnxruntime-node ships x64 and arm64); name a profile file with --profile PATH`,
    { arch: probes.arch },
  );
}

export interface ProbeOptions {
  /** File system root, "/" on a real device; tests point it at a fake tree. */
  root?: string;
  arch?: string;
  /** Extra library folders, such as the entries of $LD_LIBRARY_PATH (read by the program's main). */
  libraryPath?: readonly string[];
}

const openvinoLibraryDirs = [
  'usr/lib/x86_64-linux-gnu',
  'usr/lib/aarch64-linux-gnu',
  'usr/lib',
  'usr/local/lib',
  'opt/intel/openvino/runtime/lib/intel64',
  'opt/intel/openvino/runtime/lib/aarch64',
];

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Looks at the machine for what {@link chooseDeviceProfile} needs. Reads only; a missing path is "not found". */
export function probeDevice(options: ProbeOptions = {}): DeviceProbes {
  const root = options.root ?? '/';
  const tegraPath = join(root, 'etc/nv_tegra_release');
  const tegraRelease = existsSync(tegraPath) ? readFileSync(tegraPath, 'utf8') : null;
  const edgeTpuDevices = listDir(join(root, 'dev'))
    .filter((name) => /^apex_\d+$/.test(name))
    .sort()
    .map((name) => `/dev/${name}`);
  const dirs = [...openvinoLibraryDirs.map((dir) => join(root, dir)), ...(options.libraryPath ?? [])];
  const openvinoLibraries = dirs.flatMap((dir) =>
    listDir(dir)
      .filter((name) => /^libopenvino\.so(\.|$)/.test(name))
      .map((name) => join(dir, name)),
  );
  return { arch: options.arch ?? process.arch, tegraRelease, edgeTpuDevices, openvinoLibraries };
}

export interface ResolvedDeviceProfile {
  profile: DeviceProfile;
  /** The file it came from. */
  path: string;
  /** Why this profile: "named ..." or the auto-detection's reason. */
  reason: string;
}

/**
 * What the agent's `--profile` means: "auto" (detect with `probes`), a shipped profile name, or a path to a
 * profile file.
 */
export function resolveDeviceProfile(
  spec: string,
  probes: () => DeviceProbes,
  dir = deviceProfilesDir,
): ResolvedDeviceProfile {
  if (spec === 'auto') {
    const choice = chooseDeviceProfile(probes());
    const path = join(dir, `${choice.name}.json`);
    return { profile: readDeviceProfile(path), path, reason: choice.reason };
  }
  if (/^[a-z0-9][a-z0-9_-]{0,63}$/.test(spec)) {
    const path = join(dir, `${spec}.json`);
    if (!existsSync(path)) {
      throw protocolError(
        ProtocolErrorCode.configUnreadable,
        `no device profile "${spec}"; use auto or one of ${listDeviceProfiles(dir).join(', ')}`,
        { profile: spec },
      );
    }
    return { profile: readDeviceProfile(path), path, reason: `profile "${spec}" named in the config` };
  }
  return { profile: readDeviceProfile(spec), path: spec, reason: `profile file ${spec} named in the config` };
}
