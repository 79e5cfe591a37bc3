// Offline registration: entries appended to a registration file that the hub imports later. The file may
// hold a site roster key, so it is written with mode 0600 like every other secret.
import { existsSync, readFileSync } from 'node:fs';
import { describeIssues, type Logger } from '@truepresence/protocol';
import { ProvisionErrorCode, provisionError } from '../errors.ts';
import {
  type DeviceRegistration,
  type DeviceRevocation,
  REGISTRATION_FILE_FORMAT,
  type RegistrationEntry,
  type RegistrationFile,
  registrationFileSchema,
  type SiteRegistration,
} from '../registration.ts';
import { replacePrivateFile } from '../secrets.ts';
import type { Registrar } from './registrar.ts';

/** Reads and validates a registration file; what the hub's import does first. */
export function readRegistrationFile(path: string): RegistrationFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw provisionError(
      ProvisionErrorCode.exportInvalid,
      `registration file ${path} cannot be read as JSON: ${(cause as Error).message}`,
      { path },
      cause,
    );
  }
  const parsed = registrationFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw provisionError(
      ProvisionErrorCode.exportInvalid,
      `${path} is not a valid registration file:\n  ${problems.join('\n  ')}`,
      { path, problems },
    );
  }
  return parsed.data;
}

export class ExportFileRegistrar implements Registrar {
  readonly target: string;
  readonly #path: string;
  readonly #now: () => Date;
  readonly #log: Logger;

  constructor(path: string, logger: Logger, now: () => Date = () => new Date()) {
    this.#path = path;
    this.#now = now;
    this.target = `registration file ${path}`;
    this.#log = logger.child({ component: 'export-file' });
  }

  async hubKey(): Promise<undefined> {
    return undefined;
  }

  #append(entry: RegistrationEntry): void {
    const file: RegistrationFile = existsSync(this.#path)
      ? readRegistrationFile(this.#path)
      : { format: REGISTRATION_FILE_FORMAT, version: 1, entries: [] };
    file.entries.push(entry);
    replacePrivateFile(this.#path, `${JSON.stringify(file, null, 2)}\n`);
    this.#log.info(
      { path: this.#path, kind: entry.kind, entries: file.entries.length },
      'registration exported',
    );
  }

  async registerSite(site: SiteRegistration): Promise<void> {
    this.#append({ kind: 'site', at: this.#now().toISOString(), site });
  }

  async registerDevice(device: DeviceRegistration): Promise<void> {
    this.#append({ kind: 'device', at: this.#now().toISOString(), device });
  }

  async revokeDevice(revocation: DeviceRevocation): Promise<void> {
    this.#append({ kind: 'revocation', at: this.#now().toISOString(), revocation });
  }
}
