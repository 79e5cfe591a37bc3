import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import { HubErrorCode } from './errors.ts';
import { hashPassword, parsePasswordHash, verifyPassword } from './passwords.ts';

test('a password verifies against its scrypt hash and nothing else does', async () => {
  const hash = await hashPassword('correct horse battery staple');
  assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  assert.equal(await verifyPassword('correct horse battery stapler', hash), false);
  assert.notEqual(await hashPassword('correct horse battery staple'), hash, 'each hash has its own salt');
});

test('cost parameters travel in the hash; malformed or weak hashes never verify', async () => {
  const cheap = await hashPassword('secret', { ln: 14, r: 8, p: 1 });
  assert.equal(parsePasswordHash(cheap).ln, 14);
  assert.equal(await verifyPassword('secret', cheap), true);
  for (const bad of [
    '',
    'secret',
    '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    '$2b$10$abcdefghijklmnopqrstuv',
  ]) {
    assert.equal(await verifyPassword('secret', bad), false, bad);
    assert.throws(
      () => parsePasswordHash(bad),
      (e) => isTpError(e, HubErrorCode.passwordHashInvalid),
    );
  }
});
