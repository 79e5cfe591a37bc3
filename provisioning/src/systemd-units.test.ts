// The unit files in systemd/ (installed beside what provisioning makes) pass `systemd-analyze verify`, with
// the accelerator drop-ins applied, and keep the directives the install guide relies on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const systemdDir = join(import.meta.dirname, '..', '..', 'systemd');
const units = ['truepresence-hub.service', 'truepresence-agent.service'];
const work = mkdtempSync(join(tmpdir(), 'tp-systemd-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  status: number;
  output: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/**
 * Copies the units into `dir` with ExecStart pointing at this test's node (verify checks that the binary
 * exists; installs use /usr/bin/node), and the agent drop-ins beside them, then verifies them by name so
 * that systemd finds the drop-ins through SYSTEMD_UNIT_PATH.
 */
function verify(
  dir: string,
  edit: (unit: string, text: string) => string = (_, text) => text,
): Promise<Result> {
  mkdirSync(join(dir, 'truepresence-agent.service.d'), { recursive: true });
  for (const unit of units) {
    const text = readFileSync(join(systemdDir, unit), 'utf8').replaceAll(
      '/usr/bin/node ',
      `${process.execPath} `,
    );
    writeFileSync(join(dir, unit), edit(unit, text));
  }
  for (const dropIn of readdirSync(join(systemdDir, 'drop-ins'))) {
    const text = readFileSync(join(systemdDir, 'drop-ins', dropIn), 'utf8');
    writeFileSync(join(dir, 'truepresence-agent.service.d', dropIn), edit(dropIn, text));
  }
  return run('systemd-analyze', ['verify', '--man=no', ...units], { SYSTEMD_UNIT_PATH: `${dir}:` });
}

test('both units and the agent drop-ins pass systemd-analyze verify without a warning', async () => {
  const result = await verify(join(work, 'good'));
  assert.equal(result.status, 0, result.output);
  assert.equal(result.output, '', 'systemd-analyze printed warnings');
});

test('verify catches a broken unit or drop-in (the check above can fail)', async () => {
  const result = await verify(join(work, 'bad'), (file, text) => {
    if (file === 'truepresence-agent.service')
      return text.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes');
    if (file === 'jetson-orin.conf') return text.replace('DevicePolicy=auto', 'DevicePolicy=sometimes');
    return text;
  });
  assert.match(result.output, /Unknown key .?NoNewPrivilege.? in section \[Service\]/);
  assert.match(result.output, /jetson-orin\.conf:\d+: .*sometimes/);
});

test('the units keep the service contract: notify + watchdog, credentials, own user, sandbox, restart limit', () => {
  for (const unit of units) {
    const lines = new Set(
      readFileSync(join(systemdDir, unit), 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#')),
    );
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=30',
      'Restart=on-failure',
      'StartLimitIntervalSec=300',
      'StartLimitBurst=5',
      'User=truepresence',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'CapabilityBoundingSet=',
      'SystemCallFilter=@system-service',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    ]) {
      assert.ok(lines.has(line), `${unit} has ${line}`);
    }
    const text = [...lines].join('\n');
    assert.match(text, /^ReadWritePaths=\/var\/lib\/truepresence/m, unit);
    assert.match(text, /^LoadCredential=[a-z.-]+:\/etc\/truepresence\//m, unit);
  }
  const agent = readFileSync(join(systemdDir, 'truepresence-agent.service'), 'utf8');
  for (const secret of ['device.key', 'broker.password', 'cache.key', 'site.key']) {
    assert.match(agent, new RegExp(`^LoadCredential=${secret}:/etc/truepresence/agent/${secret}$`, 'm'));
  }
});

test('the sysusers file declares the service user', async () => {
  const root = join(work, 'sysusers-root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  const result = await run('systemd-sysusers', [
    `--root=${root}`,
    '--dry-run',
    join(systemdDir, 'truepresence.sysusers.conf'),
  ]);
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /Creating user .?truepresence/);
});
