// A Mosquitto 2 broker for one test: its own port, password file and ACL (the hub reads and writes
// tp/v1/#; each device only its own topics, by user name = device id), stopped and removed afterwards.
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports.ts';
import { stopProcess, track } from '../helpers/processes.ts';
import { tempDir } from './harness.ts';

export interface Mosquitto {
  url: string;
  stop(): Promise<void>;
}

const run = promisify(execFile);

export async function startMosquitto(
  users: ReadonlyArray<{ username: string; password: string }>,
): Promise<Mosquitto> {
  const dir = tempDir('tp-mosquitto-');
  const port = await freePort();
  const passwords = join(dir.path, 'passwd');
  writeFileSync(passwords, '', { mode: 0o600 });
  for (const user of users)
    await run('/usr/bin/mosquitto_passwd', ['-b', passwords, user.username, user.password]);
  writeFileSync(
    join(dir.path, 'acl'),
    [
      'user hub',
      'topic readwrite tp/v1/#',
      '',
      'pattern write tp/v1/+/%u/events',
      'pattern write tp/v1/+/%u/status',
      'pattern write tp/v1/+/%u/sync/req',
      'pattern read tp/v1/+/%u/acks',
      'pattern read tp/v1/+/%u/sync',
      'pattern read tp/v1/+/roster',
      '',
    ].join('\n'),
  );
  const config = join(dir.path, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      // Run as root, Mosquitto would switch to user "mosquitto", who cannot read this private folder.
      'user root',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      `acl_file ${join(dir.path, 'acl')}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      '',
    ].join('\n'),
  );
  const child = track(spawn('/usr/sbin/mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (/mosquitto version .* running/.test(log)) {
        child.stderr.off('data', onData);
        resolve();
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${log}`)));
  });
  child.stderr.resume();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      await stopProcess(child);
      dir.dispose();
    },
  };
}
