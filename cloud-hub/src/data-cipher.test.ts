import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import { DataCipher } from './data-cipher.ts';
import { HubErrorCode } from './errors.ts';

test('data sealed for one context opens only in that context and with that key', () => {
  const cipher = new DataCipher(randomBytes(32));
  const plain = randomBytes(2048);
  const sealed = cipher.encrypt(plain, 'template:person-a');
  assert.equal(sealed.byteLength, 1 + 12 + plain.byteLength + 16);
  assert.equal(sealed.includes(plain.subarray(0, 64)), false);
  assert.deepEqual(cipher.decrypt(sealed, 'template:person-a'), plain);
  assert.notDeepEqual(cipher.encrypt(plain, 'template:person-a'), sealed, 'a fresh nonce every time');
  const refused = (e: unknown) =>
    isTpError(e, HubErrorCode.dataDecryptFailed) && !e.message.includes('person-a');
  assert.throws(() => cipher.decrypt(sealed, 'template:person-b'), refused);
  assert.throws(() => new DataCipher(randomBytes(32)).decrypt(sealed, 'template:person-a'), refused);
  const tampered = Buffer.from(sealed);
  tampered[20] = tampered[20]! ^ 1;
  assert.throws(() => cipher.decrypt(tampered, 'template:person-a'), refused);
  assert.throws(() => cipher.decrypt(Buffer.alloc(10), 'template:person-a'), refused);
});
