import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { stopProcess, track } from './processes.ts';

const script = join(import.meta.dirname, '..', 'fixtures', 'rtsp_server.py');

export interface RtspServerOptions {
  /** H.264 mp4 to serve (see makeClip). */
  file: string;
  /** Port on 127.0.0.1; the OS picks a free one when left out. */
  port?: number;
  /** Require RTSP basic authentication with this login. */
  user?: string;
  password?: string;
}

export interface RtspServer {
  /** rtsp://127.0.0.1:PORT/stream, without credentials. */
  url: string;
  port: number;
  /** Ends the server (SIGTERM, then SIGKILL): clients see their connection close. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash or a power cut would. */
  kill(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and no byte flows, a stalled camera. */
  pause(): void;
  resume(): void;
}

/**
 * Starts GStreamer's RTSP server (test/fixtures/rtsp_server.py under /usr/bin/python3) serving `file`
 * without re-encoding; resolves once it listens. The server also exits when this process does.
 */
export async function startRtspServer(options: RtspServerOptions): Promise<RtspServer> {
  const args = [script, '--file', options.file, '--port', String(options.port ?? 0)];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.user !== undefined) {
    args.push('--user', options.user);
    env.RTSP_PASSWORD = options.password ?? '';
  }
  const child: ChildProcessByStdio<Writable, Readable, Readable> = track(
    spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'], env }),
  );
  const port = await readyPort(child);
  return {
    url: `rtsp://127.0.0.1:${port}/stream`,
    port,
    stop: () => stopProcess(child),
    kill: () => stopProcess(child, 'SIGKILL'),
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}

function readyPort(child: ChildProcessByStdio<Writable, Readable, Readable>): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.setEncoding('utf8');
    const onData = (chunk: string) => {
      stdout += chunk;
      const ready = /^READY (\d+)$/m.exec(stdout);
      if (!ready) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve(Number(ready[1]));
    };
    const onExit = (code: number | null) =>
      reject(new Error(`RTSP server exited (${code}) before it was ready: ${stderr}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}
