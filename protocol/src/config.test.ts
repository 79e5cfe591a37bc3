import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { z } from 'zod';
import {
  configJsonSchema,
  parseConfig,
  parseProgramArgs,
  readConfigFile,
  readSecret,
  secretRefSchema,
} from './config.ts';
import { ProtocolErrorCode } from './errors.ts';
import { isTpError, type TpError } from './tp-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const schema = z.strictObject({
  log: z.strictObject({ level: z.enum(['info', 'debug']).default('info') }).default({ level: 'info' }),
  cameras: z
    .array(z.strictObject({ id: z.string(), fps: z.number().int().positive().default(5) }))
    .default([]),
  key: secretRefSchema.optional(),
});

test('defaults fill an empty config; errors name every bad key path', () => {
  assert.deepEqual(parseConfig(schema, {}, 'defaults'), { log: { level: 'info' }, cameras: [] });
  let error: TpError | undefined;
  try {
    parseConfig(
      schema,
      { log: { level: 'loud' }, cameras: [{ id: 'a', fps: -1, extra: true }], typo: 1 },
      'agent.json',
    );
  } catch (e) {
    if (isTpError(e, ProtocolErrorCode.configInvalid)) error = e;
  }
  assert.ok(error, 'a TP_CONFIG_INVALID error');
  const problems = error.details.problems as string[];
  assert.ok(problems.some((p) => p.startsWith('log.level:')));
  assert.ok(problems.some((p) => p.startsWith('cameras[0].fps:')));
  assert.ok(problems.some((p) => p.startsWith('cameras[0]: unknown key(s) "extra"')));
  assert.ok(problems.some((p) => p.startsWith('(root): unknown key(s) "typo"')));
  assert.match(error.message, /agent\.json/);
});

test('a secret written inline is refused; file and credential references are accepted', () => {
  assert.throws(
    () => parseConfig(schema, { key: 'hunter2' }, 'x'),
    (e) => isTpError(e, ProtocolErrorCode.configInvalid),
  );
  assert.deepEqual(parseConfig(schema, { key: { credential: 'cache.key' } }, 'x').key, {
    credential: 'cache.key',
  });
});

test('secrets are read from 0600 files or the credentials directory, never from open files', () => {
  const file = join(dir, 'secret');
  writeFileSync(file, 'hunter2', { mode: 0o600 });
  assert.equal(readSecret({ file }, {}).toString(), 'hunter2');
  chmodSync(file, 0o644);
  assert.throws(
    () => readSecret({ file }, {}),
    (e) => isTpError(e, ProtocolErrorCode.secretInsecure),
  );
  assert.throws(
    () => readSecret({ file: join(dir, 'missing') }, {}),
    (e) => isTpError(e, ProtocolErrorCode.secretMissing),
  );
  writeFileSync(join(dir, 'site.key'), 'k', { mode: 0o600 });
  assert.equal(readSecret({ credential: 'site.key' }, { credentialsDirectory: dir }).toString(), 'k');
  assert.throws(
    () => readSecret({ credential: 'site.key' }, {}),
    (e) => isTpError(e, ProtocolErrorCode.secretMissing),
  );
});

test('config files and program arguments', () => {
  const file = join(dir, 'c.json');
  writeFileSync(file, '{"log": {"level": "debug"}}');
  assert.deepEqual(parseConfig(schema, readConfigFile(file), file).log, { level: 'debug' });
  writeFileSync(file, '{"log": ');
  assert.throws(
    () => readConfigFile(file),
    (e) => isTpError(e, ProtocolErrorCode.configUnreadable),
  );
  assert.throws(
    () => readConfigFile(join(dir, 'nope.json')),
    (e) => isTpError(e, ProtocolErrorCode.configUnreadable),
  );
  assert.deepEqual(parseProgramArgs(['--config', 'a.json', '--check-config', 'run']), {
    configPath: 'a.json',
    checkConfig: true,
    printSchema: false,
    rest: ['run'],
  });
  assert.equal(parseProgramArgs(['--config=b.json']).configPath, 'b.json');
  assert.equal(parseProgramArgs(['--config-schema']).printSchema, true);
  assert.equal(parseProgramArgs([]).printSchema, false);
});

test('the config JSON Schema names every key with its default and description', () => {
  const described = z.strictObject({
    port: z.int().min(1).max(65535).default(8080).describe('TCP port to listen on.'),
  });
  const json = JSON.parse(configJsonSchema(described)) as {
    properties: { port: { default: number; description: string; maximum: number } };
    required?: string[];
    additionalProperties: boolean;
  };
  assert.deepEqual(json.properties.port, {
    ...json.properties.port,
    default: 8080,
    description: 'TCP port to listen on.',
    maximum: 65535,
  });
  assert.equal(json.required, undefined, 'a key with a default may be left out of the file');
  assert.equal(json.additionalProperties, false);
});
