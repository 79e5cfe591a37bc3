// systemd's sd_notify for a Node program. Node cannot send on a Unix datagram socket, so each message is
// sent by a `systemd-notify` child process (the agent unit sets NotifyAccess=all so systemd accepts it).
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.
import { execFile } from 'node:child_process';
import type { Logger } from '@truepresence/protocol';

export interface NotifyEnvironment {
  /** NOTIFY_SOCKET as main read it; undefined when not under systemd. */
  socket: string | undefined;
  /** WATCHDOG_USEC as main read it; undefined without a watchdog. */
  watchdogUsec: string | undefined;
}

export class SdNotifier {
  private readonly log: Logger;

  constructor(
    private readonly env: NotifyEnvironment,
    logger: Logger,
    private readonly command = 'systemd-notify',
  ) {
    this.log = logger.child({ component: 'sd-notify' });
  }

  get enabled(): boolean {
    return this.env.socket !== undefined && this.env.socket !== '';
  }

  /** Half the watchdog interval systemd set, in ms; null without a watchdog. */
  get watchdogIntervalMs(): number | null {
    const usec = Number(this.env.watchdogUsec);
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return null;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** Sends `KEY=VALUE` lines (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...); resolves once sent or failed. */
  notify(...messages: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      execFile(
        this.command,
        messages,
        { env: { NOTIFY_SOCKET: this.env.socket }, timeout: 5000 },
        (error, _stdout, stderr) => {
          if (error) this.log.warn({ messages, detail: stderr.trim() || error.message }, 'sd_notify failed');
          resolve();
        },
      );
    });
  }
}
