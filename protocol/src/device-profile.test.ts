import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  chooseDeviceProfile,
  type DeviceProbes,
  deviceProfileNames,
  deviceProfilesDir,
  listDeviceProfiles,
  probeDevice,
  readDeviceProfile,
  resolveDeviceProfile,
} from './device-profile.ts';
import { ProtocolErrorCode } from './errors.ts';
import { isTpError } from './tp-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-profile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (isTpError(error, ProtocolErrorCode.configInvalid)) return error.details.problems as string[];
    throw error;
  }
  assert.fail('expected TP_CONFIG_INVALID');
}

function writeProfile(name: string, body: unknown): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

test('the five shipped profiles validate and carry what the agent needs', () => {
  assert.deepEqual(listDeviceProfiles(), [...deviceProfileNames].sort());
  const profiles = Object.fromEntries(
    deviceProfileNames.map((name) => [name, readDeviceProfile(join(deviceProfilesDir, `${name}.json`))]),
  );
  assert.deepEqual(profiles['jetson-orin']!.inference.providers, ['tensorrt', 'cuda', 'cpu']);
  assert.deepEqual(profiles['jetson-orin']!.decode.decoders, {
    h264: 'h264_nvv4l2dec',
    hevc: 'hevc_nvv4l2dec',
  });
  assert.deepEqual(profiles['intel-ncs']!.inference.providers, ['openvino', 'cpu']);
  assert.deepEqual(profiles['cpu-x86_64']!.arch, ['x64']);
  assert.deepEqual(profiles['cpu-arm64']!.arch, ['arm64']);
  const coral = profiles.coral!;
  assert.equal(coral.accelerator.kind, 'edge-tpu');
  assert.equal(coral.accelerator.supported, false);
  assert.deepEqual(coral.inference.providers, ['cpu']);
  assert.match(coral.accelerator.note, /not available in this build/);
  for (const profile of Object.values(profiles)) {
    assert.ok(profile.analysis.fps > 0 && profile.analysis.maxWidth >= 64);
    assert.ok(profile.inference.intraOpThreads >= 1 && profile.inference.interOpThreads >= 1);
  }
});

test('bad profiles are refused with the key path of each problem', () => {
  const problems = problemsOf(() =>
    readDeviceProfile(
      writeProfile('bad', {
        name: 'bad',
        description: 'broken on purpose',
        arch: ['x64', 'riscv64'],
        inference: { providers: ['cpu', 'cuda'], intraOpThreads: 0, gpu: true },
        accelerator: { devices: ['apex_0'] },
        decode: { hwaccel: 'nvdec', decoders: { av1: 'x' } },
        analysis: { fps: 0 },
      }),
    ),
  );
  const expected = [
    'arch[1]:',
    'inference: unknown key(s) "gpu"',
    'inference.providers: end the list with "cpu"',
    'inference.intraOpThreads:',
    'accelerator.devices[0]: expected a device node',
    'decode.hwaccel:',
    'decode.decoders: unknown key(s) "av1"',
    'analysis.fps:',
  ];
  for (const start of expected) {
    assert.ok(
      problems.some((p) => p.startsWith(start)),
      `a problem starting "${start}" in ${problems.join(' | ')}`,
    );
  }
});

test('an unsupported accelerator must run the CPU path and say why', () => {
  const problems = problemsOf(() =>
    readDeviceProfile(
      writeProfile('tpu', {
        name: 'tpu',
        description: 'Edge TPU pretending to work',
        inference: { providers: ['openvino', 'cpu'] },
        accelerator: { kind: 'edge-tpu', supported: false },
      }),
    ),
  );
  assert.ok(problems.some((p) => p.startsWith('inference.providers: an unsupported accelerator')));
  assert.ok(problems.some((p) => p.startsWith('accelerator.note:')));
});

test('a profile named unlike its file is refused; defaults fill a minimal profile', () => {
  const problems = problemsOf(() =>
    readDeviceProfile(writeProfile('lobby', { name: 'hall', description: 'x' })),
  );
  assert.match(problems[0]!, /^name: "hall" differs from the file name "lobby"/);
  const minimal = readDeviceProfile(writeProfile('minimal', { name: 'minimal', description: 'defaults' }));
  assert.deepEqual(minimal.inference.providers, ['cpu']);
  assert.equal(minimal.decode.hwaccel, 'none');
  assert.equal(minimal.accelerator.supported, true);
});

const none: DeviceProbes = { arch: 'x64', tegraRelease: null, edgeTpuDevices: [], openvinoLibraries: [] };
const orinRelease =
  '# R36 (release), REVISION: 3.0, GCID: 36923193, BOARD: generic, EABI: aarch64, DATE: Fri Jul 19 23:24:25 UTC 2024\n';

test('auto-detection picks the right profile for each set of probes', () => {
  const cases: Array<[DeviceProbes, string, RegExp]> = [
    [none, 'cpu-x86_64', /x64/],
    [{ ...none, arch: 'arm64' }, 'cpu-arm64', /arm64/],
    [{ ...none, arch: 'arm64', tegraRelease: orinRelease }, 'jetson-orin', /L4T R36\.3\.0/],
    [
      {
        ...none,
        arch: 'arm64',
        tegraRelease: '# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64',
      },
      'jetson-orin',
      /R35\.4\.1/,
    ],
    [
      {
        ...none,
        arch: 'arm64',
        tegraRelease: '# R32 (release), REVISION: 7.4, GCID: 33514132, BOARD: t210ref',
      },
      'cpu-arm64',
      /R32\.7\.4.*needs L4T R35/,
    ],
    [{ ...none, edgeTpuDevices: ['/dev/apex_0'] }, 'coral', /\/dev\/apex_0.*not available in this build/],
    [
      {
        ...none,
        arch: 'arm64',
        edgeTpuDevices: ['/dev/apex_0'],
        openvinoLibraries: ['/usr/lib/libopenvino.so'],
      },
      'coral',
      /Edge TPU/,
    ],
    [
      { ...none, openvinoLibraries: ['/opt/intel/openvino/runtime/lib/intel64/libopenvino.so.2022.3.0'] },
      'intel-ncs',
      /OpenVINO/,
    ],
    [
      { ...none, arch: 'arm64', tegraRelease: orinRelease, edgeTpuDevices: ['/dev/apex_0'] },
      'jetson-orin',
      /Jetson/,
    ],
  ];
  for (const [probes, name, reason] of cases) {
    const choice = chooseDeviceProfile(probes);
    assert.equal(choice.name, name, JSON.stringify(probes));
    assert.match(choice.reason, reason);
  }
  assert.throws(
    () => chooseDeviceProfile({ ...none, arch: 'ia32' }),
    (e) => isTpError(e, ProtocolErrorCode.configInvalid) && /ia32/.test(e.message),
  );
});

test('probes read a device tree; resolve accepts auto, a name or a path', () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'dev'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
  assert.deepEqual(probeDevice({ root, arch: 'x64' }), none);

  writeFileSync(join(root, 'dev/apex_0'), '');
  writeFileSync(join(root, 'dev/apex_extra'), '');
  writeFileSync(join(root, 'usr/lib/x86_64-linux-gnu/libopenvino.so.2024.6.0'), '');
  writeFileSync(join(root, 'usr/lib/x86_64-linux-gnu/libopenvino_c.so'), '');
  const probes = probeDevice({ root, arch: 'x64' });
  assert.deepEqual(probes.edgeTpuDevices, ['/dev/apex_0']);
  assert.deepEqual(probes.openvinoLibraries, [
    join(root, 'usr/lib/x86_64-linux-gnu/libopenvino.so.2024.6.0'),
  ]);
  assert.equal(resolveDeviceProfile('auto', () => probes).profile.name, 'coral');

  writeFileSync(join(root, 'etc/nv_tegra_release'), orinRelease);
  const jetson = resolveDeviceProfile('auto', () => probeDevice({ root, arch: 'arm64' }));
  assert.equal(jetson.profile.name, 'jetson-orin');
  assert.match(jetson.reason, /nv_tegra_release/);

  const named = resolveDeviceProfile('intel-ncs', () => assert.fail('no probing for a named profile'));
  assert.equal(named.profile.name, 'intel-ncs');
  const custom = writeProfile('custom', { name: 'custom', description: 'site-specific' });
  assert.equal(resolveDeviceProfile(custom, () => none).profile.name, 'custom');
  assert.throws(
    () => resolveDeviceProfile('hailo', () => none),
    (e) => isTpError(e, ProtocolErrorCode.configUnreadable) && /coral, cpu-arm64/.test(e.message),
  );
});
