import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.ts';
import * as siteKeys from './0002-site-keys.ts';
import * as alertResolution from './0003-alert-resolution.ts';

/** Every migration in order, listed explicitly (no directory scan). Never edit one that has shipped. */
const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-site-keys': siteKeys,
  '0003-alert-resolution': alertResolution,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
