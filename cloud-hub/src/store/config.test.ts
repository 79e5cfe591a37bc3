import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTpError, parseConfig } from '@truepresence/protocol';
import { storeConfigSchema } from './config.ts';

const parse = (raw: unknown) => parseConfig(storeConfigSchema, raw, 'hub.json');

function problems(raw: unknown): string[] {
  try {
    parse(raw);
  } catch (error) {
    assert.ok(isTpError(error, 'TP_CONFIG_INVALID'));
    return error.details.problems as string[];
  }
  assert.fail('expected the config to be refused');
}

test('no store section means a SQLite file with its defaults', () => {
  assert.deepEqual(parse(undefined), { type: 'sqlite', path: 'data/hub.sqlite', busyTimeoutMs: 5000 });
  assert.deepEqual(parse({ type: 'sqlite' }), {
    type: 'sqlite',
    path: 'data/hub.sqlite',
    busyTimeoutMs: 5000,
  });
});

test('postgres takes a URL without password and a secret reference for it', () => {
  assert.deepEqual(
    parse({ type: 'postgres', url: 'postgres://hub@db.internal:5432/tp', password: { file: '/etc/tp/pg' } }),
    {
      type: 'postgres',
      url: 'postgres://hub@db.internal:5432/tp',
      password: { file: '/etc/tp/pg' },
      poolSize: 10,
      connectTimeoutMs: 10_000,
    },
  );
  assert.equal(parse({ type: 'postgres' }).type, 'postgres');
});

test('mistakes are named by key path', () => {
  assert.match(
    problems({ type: 'postgres', url: 'postgres://hub:hunter2@db/tp' }).join('\n'),
    /^url: remove the password from the URL/m,
  );
  assert.match(problems({ type: 'postgres', url: 'http://db/tp' }).join('\n'), /^url: /m);
  assert.match(problems({ type: 'sqlite', file: 'x.db' }).join('\n'), /unknown key\(s\) "file"/);
  assert.match(problems({ type: 'mysql' }).join('\n'), /^type: /m);
  assert.match(problems({ type: 'postgres', poolSize: 0 }).join('\n'), /^poolSize: /m);
});
