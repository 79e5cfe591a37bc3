import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseConfig } from '@truepresence/protocol';
import pg from 'pg';
import { storeConfigSchema } from './config.ts';
import { openStore } from './open-store.ts';
import { storeContract } from './store-contract.ts';

// The only place that reads the environment: where the test PostgreSQL is (.ci/run makes sure it runs).
const adminUrl = process.env.TP_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

storeContract('postgres', async () => {
  const name = `tp_test_store_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // The store refuses passwords inside URLs: a password in TP_TEST_PG_URL goes through a secret file.
  const dir = mkdtempSync(join(tmpdir(), 'tp-hub-pg-'));
  const password = decodeURIComponent(url.password);
  const passwordFile = join(dir, 'password');
  if (password) writeFileSync(passwordFile, password, { mode: 0o600 });
  const raw = new pg.Pool({ connectionString: url.toString(), max: 1 });
  url.password = '';
  const config = parseConfig(
    storeConfigSchema,
    {
      type: 'postgres',
      url: url.toString(),
      password: password ? { file: passwordFile } : null,
      poolSize: 4,
    },
    'test',
  );
  const logger = createLogger({ level: 'silent', name: 'test' });
  return {
    open: (options) => openStore(config, logger, options),
    exec: async (sqlText) => {
      await raw.query(sqlText);
    },
    dispose: async () => {
      await raw.end();
      await admin(`drop database if exists ${name} with (force)`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
