import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createLogger, parseConfig } from '@truepresence/protocol';
import BetterSqlite3 from 'better-sqlite3';
import { storeConfigSchema } from './config.ts';
import { openStore } from './open-store.ts';
import { storeContract } from './store-contract.ts';

const logger = createLogger({ level: 'silent', name: 'test' });

storeContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-hub-store-'));
  const path = join(dir, 'nested', 'hub.sqlite');
  const config = parseConfig(storeConfigSchema, { type: 'sqlite', path }, 'test');
  return {
    open: (options) => openStore(config, logger, options),
    exec: async (sqlText) => {
      const raw = new BetterSqlite3(path);
      try {
        raw.exec(sqlText);
      } finally {
        raw.close();
      }
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('sqlite: another process writing the same file (the provisioning CLI) waits its turn', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-hub-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig(storeConfigSchema, { type: 'sqlite', path: join(dir, 'hub.sqlite') }, 'test');
  const store = openStore(config, logger);
  await store.start();
  t.after(() => store.stop());
  const site = await store.createSite({ id: 'site-1', name: 'Gate', timeZone: 'UTC' });
  const person = await store.createPerson({ displayName: 'Ada', siteIds: [site.id] });

  const append = (writer: string) =>
    `await store.appendRosterChange({ siteId: ${JSON.stringify(site.id)}, kind: 'update', personId: ${JSON.stringify(person.id)}, seal: () => Buffer.from('${writer}') });`;
  const childCode = [
    `import { openStore } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'open-store.ts')).href)};`,
    `import { createLogger } from '@truepresence/protocol';`,
    `const store = openStore(${JSON.stringify(config)}, createLogger({ level: 'silent', name: 'child' }));`,
    'await store.start();',
    `process.stdout.write('ready\\n');`,
    `for (let i = 0; i < 25; i++) { ${append('child')} }`,
    'await store.stop();',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childCode], {
    cwd: join(import.meta.dirname, '..', '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  for (let i = 0; i < 25; i++) {
    await store.appendRosterChange({
      siteId: site.id,
      kind: 'update',
      personId: person.id,
      seal: () => Buffer.from('parent'),
    });
  }
  assert.equal(await exited, 0);
  const changes = await store.rosterChangesAfter(site.id, 0, 1000);
  assert.deepEqual(
    changes.map((c) => c.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.equal(changes.filter((c) => c.payload?.toString() === 'child').length, 25);
  assert.equal((await store.getSite(site.id))?.rosterSeq, 50);
});
