import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
// A test that fails half-way must not leave servers or decoders behind: whatever is still running when
// the test process exits is killed (SIGKILL also ends a process stopped with SIGSTOP).
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Registers a child process to be killed if it is still running when the test process exits. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ffmpeg runs the same way for the demo's clips and the tests' clips.
export { runFfmpeg } from '../../provisioning/src/demo/clip.ts';
