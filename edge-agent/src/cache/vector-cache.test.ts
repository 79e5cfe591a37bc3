import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLogger, isTpError } from '@truepresence/protocol';
import Database from 'better-sqlite3-multiple-ciphers';
import { fileKeyHex } from '../encrypted-database.ts';
import { AgentErrorCode } from '../errors.ts';
import { vectorCacheConfigSchema } from './config.ts';
import { decryptedCacheImage, templateTraces } from './forensics.ts';
import { cosine, syntheticFaces } from './synthetic.ts';
import {
  CACHE_KEY_PURPOSE,
  type CacheRosterChange,
  VectorCache,
  type VectorCacheOpenOptions,
} from './vector-cache.ts';

const logger = createLogger({ level: 'silent', name: 'vector-cache-test' });
const modelPack = 'default-1.0.0';

let dir: string;
let path: string;
let key: Buffer;

function options(overrides: Partial<VectorCacheOpenOptions> = {}): VectorCacheOpenOptions {
  return {
    config: vectorCacheConfigSchema.parse({ path }),
    key,
    modelPack,
    create: false,
    logger,
    ...overrides,
  };
}

/** Every file of the cache's folder with its sha256: proof that a failed open left them as they were. */
function snapshot(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => [
      name,
      createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex'),
    ]),
  );
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isTpError(error, code));
}

function enrol(seq: number, personId: string, vectors: Float32Array[], prefix = personId): CacheRosterChange {
  return {
    seq,
    kind: 'enrol',
    personId,
    templates: vectors.map((vector, i) => ({ id: `${prefix}-t${i}`, vector, modelPack })),
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tp-vector-cache-'));
  path = join(dir, 'cache.db');
  key = randomBytes(32);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('opening the cache', () => {
  it('refuses a missing file unless told to create it, and creates nothing', () => {
    throwsCode(() => VectorCache.open(options()), AgentErrorCode.cacheMissing);
    assert.deepEqual(readdirSync(dir), []);
    const cache = VectorCache.open(options({ create: true }));
    assert.deepEqual(cache.counts(), { people: 0, templates: 0 });
    assert.equal(cache.appliedRosterSeq(), 0);
    cache.close();
  });

  it('refuses a key that is not 32 bytes', () => {
    for (const bad of [randomBytes(16), Buffer.alloc(0)]) {
      throwsCode(() => VectorCache.open(options({ key: bad, create: true })), AgentErrorCode.cacheKeyInvalid);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('persists templates and the roster seq across a reopen', () => {
    const faces = syntheticFaces(1);
    const alice = faces.identity();
    let cache = VectorCache.open(options({ create: true }));
    cache.applyRosterChange(enrol(1, 'alice', [faces.capture(alice), faces.capture(alice)]));
    cache.applyRosterChange(enrol(2, 'bob', [faces.capture(faces.identity())]));
    cache.close();
    cache = VectorCache.open(options());
    assert.equal(cache.appliedRosterSeq(), 2);
    assert.deepEqual(cache.counts(), { people: 2, templates: 3 });
    assert.equal(cache.searchPeople(faces.capture(alice), 1)[0]?.personId, 'alice');
    cache.close();
  });

  it('fails on a wrong key with TP_AGENT_CACHE_KEY_WRONG and leaves the files untouched', () => {
    const faces = syntheticFaces(2);
    const cache = VectorCache.open(options({ create: true }));
    cache.applyRosterChange(enrol(1, 'alice', [faces.capture(faces.identity())]));
    cache.close();
    const before = snapshot();
    throwsCode(() => VectorCache.open(options({ key: randomBytes(32) })), AgentErrorCode.cacheKeyWrong);
    throwsCode(
      () => VectorCache.open(options({ key: randomBytes(32), create: true })),
      AgentErrorCode.cacheKeyWrong,
    );
    assert.deepEqual(snapshot(), before);
    const again = VectorCache.open(options());
    assert.equal(again.appliedRosterSeq(), 1);
    again.close();
  });

  it('fails on a damaged page with TP_AGENT_CACHE_CORRUPT and leaves the file untouched', () => {
    const faces = syntheticFaces(3);
    const cache = VectorCache.open(options({ create: true }));
    for (let seq = 1; seq <= 40; seq++) {
      const centre = faces.identity();
      cache.applyRosterChange(enrol(seq, `p${seq}`, [faces.capture(centre), faces.capture(centre)]));
    }
    cache.close();
    const size = readFileSync(path).byteLength;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('not what was written here'), 0, 25, Math.floor(size / 2));
    closeSync(fd);
    const before = snapshot();
    throwsCode(() => VectorCache.open(options()), AgentErrorCode.cacheCorrupt);
    assert.deepEqual(snapshot(), before);
  });

  it('fails on a truncated or empty file with TP_AGENT_CACHE_CORRUPT', () => {
    VectorCache.open(options({ create: true })).close();
    truncateSync(path, readFileSync(path).byteLength - 100);
    throwsCode(() => VectorCache.open(options()), AgentErrorCode.cacheCorrupt);
    writeFileSync(path, '');
    throwsCode(() => VectorCache.open(options()), AgentErrorCode.cacheCorrupt);
    assert.equal(readFileSync(path).byteLength, 0);
  });

  it('refuses a cache built for another model pack', () => {
    VectorCache.open(options({ create: true })).close();
    throwsCode(
      () => VectorCache.open(options({ modelPack: 'other-2.0.0' })),
      AgentErrorCode.cacheModelPackChanged,
    );
  });

  it('refuses a cache of an older schema with TP_AGENT_CACHE_SCHEMA_OLD and leaves it untouched', () => {
    VectorCache.open(options({ create: true })).close();
    const db = new Database(path);
    db.pragma("cipher = 'chacha20'");
    db.pragma(`key = 'raw:${fileKeyHex(key, CACHE_KEY_PURPOSE)}'`);
    db.prepare('UPDATE cache_meta SET schema_version = 1').run();
    db.close();
    const before = snapshot();
    throwsCode(() => VectorCache.open(options()), AgentErrorCode.cacheSchemaOld);
    assert.deepEqual(snapshot(), before);
  });
});

describe('roster changes', () => {
  let cache: VectorCache;
  const faces = syntheticFaces(4);
  const alice = faces.identity();
  const bob = faces.identity();

  beforeEach(() => {
    cache = VectorCache.open(options({ create: true }));
  });
  afterEach(() => cache.close());

  it('applies changes in order, each once', () => {
    assert.equal(cache.applyRosterChange(enrol(1, 'alice', [faces.capture(alice)])), true);
    assert.equal(cache.applyRosterChange(enrol(2, 'bob', [faces.capture(bob), faces.capture(bob)])), true);
    assert.equal(cache.appliedRosterSeq(), 2);
    assert.deepEqual(cache.counts(), { people: 2, templates: 3 });
    // Replayed: no-op, even with other content.
    assert.equal(cache.applyRosterChange(enrol(2, 'carol', [faces.capture(faces.identity())])), false);
    assert.equal(cache.applyRosterChange({ seq: 1, kind: 'erase', personId: 'alice' }), false);
    assert.equal(cache.appliedRosterSeq(), 2);
    assert.deepEqual(cache.counts(), { people: 2, templates: 3 });
  });

  it('refuses a change past the next seq with TP_AGENT_CACHE_ROSTER_GAP, unchanged', () => {
    cache.applyRosterChange(enrol(1, 'alice', [faces.capture(alice)]));
    assert.throws(
      () => cache.applyRosterChange(enrol(3, 'bob', [faces.capture(bob)])),
      (error: unknown) =>
        isTpError(error, AgentErrorCode.cacheRosterGap) &&
        error.details.applied === 1 &&
        error.details.seq === 3,
    );
    assert.equal(cache.appliedRosterSeq(), 1);
    assert.deepEqual(cache.counts(), { people: 1, templates: 1 });
  });

  it('applies a batch all or nothing', () => {
    const batch = [enrol(1, 'alice', [faces.capture(alice)]), enrol(2, 'bob', [faces.capture(bob)])];
    throwsCode(
      () => cache.applyRosterChanges([...batch, enrol(4, 'carol', [faces.capture(alice)])]),
      AgentErrorCode.cacheRosterGap,
    );
    assert.equal(cache.appliedRosterSeq(), 0);
    assert.deepEqual(cache.counts(), { people: 0, templates: 0 });
    assert.equal(cache.applyRosterChanges(batch), 2);
    assert.equal(cache.applyRosterChanges(batch), 0);
    assert.equal(cache.appliedRosterSeq(), 2);
  });

  it('refuses malformed changes with TP_AGENT_CACHE_CHANGE_INVALID, unchanged', () => {
    cache.applyRosterChange(enrol(1, 'alice', [faces.capture(alice)]));
    const bad: CacheRosterChange[] = [
      { seq: 2, kind: 'enrol', personId: 'bob', templates: [{ id: 'b', vector: new Float32Array(128) }] },
      { seq: 2, kind: 'enrol', personId: 'bob', templates: [{ id: 'b', vector: new Float32Array(512) }] },
      {
        seq: 2,
        kind: 'enrol',
        personId: 'bob',
        templates: [{ id: 'b', vector: Array.from(faces.capture(bob)) as unknown as Float32Array }],
      },
      {
        seq: 2,
        kind: 'enrol',
        personId: 'bob',
        templates: [{ id: 'b', vector: new Float32Array(512).fill(Number.NaN) }],
      },
      enrol(2, '', [faces.capture(bob)]),
      {
        ...enrol(2, 'bob', [faces.capture(bob), faces.capture(bob)]),
        templates: [
          { id: 'x', vector: faces.capture(bob) },
          { id: 'x', vector: faces.capture(bob) },
        ],
      },
      { seq: 2, kind: 'erase', personId: 'alice', templates: [{ id: 'a', vector: faces.capture(alice) }] },
      // A template id that already belongs to alice.
      enrol(2, 'bob', [faces.capture(bob)], 'alice'),
      { seq: 2.5, kind: 'erase', personId: 'alice' },
    ];
    for (const change of bad)
      throwsCode(() => cache.applyRosterChange(change), AgentErrorCode.cacheChangeInvalid);
    assert.equal(cache.appliedRosterSeq(), 1);
    assert.deepEqual(cache.counts(), { people: 1, templates: 1 });
  });

  it('replaces all templates of a person on update, and keeps only its own model pack', () => {
    cache.applyRosterChange(
      enrol(1, 'alice', [faces.capture(alice), faces.capture(alice), faces.capture(alice)]),
    );
    cache.applyRosterChange({
      seq: 2,
      kind: 'update',
      personId: 'alice',
      templates: [
        { id: 'alice-new', vector: faces.capture(alice), modelPack },
        { id: 'alice-tflite', vector: faces.capture(alice), modelPack: 'coral-1.0.0' },
      ],
    });
    assert.deepEqual(cache.counts(), { people: 1, templates: 1 });
    const hits = cache.search(faces.capture(alice), 5);
    assert.deepEqual(
      hits.map((hit) => hit.templateId),
      ['alice-new'],
    );
    // An update with no template of this pack leaves the person with nothing to match.
    cache.applyRosterChange({
      seq: 3,
      kind: 'update',
      personId: 'alice',
      templates: [{ id: 'alice-tflite', vector: faces.capture(alice), modelPack: 'coral-1.0.0' }],
    });
    assert.deepEqual(cache.counts(), { people: 0, templates: 0 });
    assert.equal(cache.appliedRosterSeq(), 3);
  });

  it('erases every template of a person and leaves no byte of them in the decrypted file', () => {
    const aliceVectors = Array.from({ length: 4 }, () => faces.capture(alice));
    const bobVectors = [faces.capture(bob), faces.capture(bob)];
    cache.applyRosterChange(enrol(1, 'alice-4f1c', aliceVectors));
    cache.applyRosterChange(enrol(2, 'bob-77d0', bobVectors));
    for (let seq = 3; seq <= 30; seq++)
      cache.applyRosterChange(enrol(seq, `filler-${seq}`, [faces.capture(faces.identity())]));
    cache.close();

    // The raw file is encrypted: no person id, no template id, no vector piece in clear.
    const raw = readFileSync(path);
    for (const text of ['alice-4f1c', 'bob-77d0', 'filler-3', 'alice-4f1c-t0'])
      assert.equal(raw.includes(text), false, text);
    assert.equal(templateTraces(raw, aliceVectors[0]!), 0);
    // Decrypted, the templates are there: the check below can see them.
    let image = decryptedCacheImage(path, key);
    assert.equal(image.includes('alice-4f1c'), true);
    for (const vector of aliceVectors) assert.equal(templateTraces(image, vector), 128 + 8);

    cache = VectorCache.open(options());
    assert.equal(cache.applyRosterChange({ seq: 31, kind: 'erase', personId: 'alice-4f1c' }), true);
    assert.deepEqual(cache.counts(), { people: 29, templates: 30 });
    for (const vector of aliceVectors) {
      assert.ok(cache.searchPeople(vector, 5).every((hit) => hit.personId !== 'alice-4f1c'));
      assert.ok(cache.search(vector, 50).every((hit) => hit.personId !== 'alice-4f1c'));
    }
    // Checked while open (the erase checkpointed the WAL) and again after closing.
    for (const phase of ['open', 'closed']) {
      if (phase === 'closed') cache.close();
      image = decryptedCacheImage(path, key);
      for (const vector of aliceVectors) assert.equal(templateTraces(image, vector), 0, phase);
      assert.equal(image.includes('alice-4f1c'), false, phase);
      for (const vector of bobVectors) assert.equal(templateTraces(image, vector), 128 + 8, phase);
    }
    cache = VectorCache.open(options());
  });
});

describe('search', () => {
  const faces = syntheticFaces(5);
  type Person = { id: string; centre: Float32Array; templates: Array<{ id: string; vector: Float32Array }> };
  const people: Person[] = [];
  const withLookalike: Person[] = [];
  const addPerson = (id: string, centre: Float32Array, count: number): Person => {
    const templates = Array.from({ length: count }, (_, t) => ({
      id: `${id}-t${t}`,
      vector: faces.capture(centre),
    }));
    const person = { id, centre, templates };
    people.push(person);
    return person;
  };
  // Thousands of templates, so the binary scan has many codes to choose its candidates from.
  let templateCount = 0;
  while (templateCount < 4400) {
    const person = addPerson(`person-${people.length}`, faces.identity(), 1 + Math.floor(faces.random() * 5));
    templateCount += person.templates.length;
    if (people.length % 30 === 0) {
      withLookalike.push(person);
      templateCount += addPerson(`sibling-${people.length}`, faces.lookalike(person.centre), 2).templates
        .length;
    }
  }
  // One person with many templates: the first candidates are all theirs, so searchPeople must look further.
  const crowd = addPerson('many', faces.identity(), 20).centre;
  const all = people.flatMap((person) => person.templates.map((t) => ({ ...t, personId: person.id })));
  let cache: VectorCache;

  function exact(query: Float32Array) {
    return all
      .map((t) => ({ personId: t.personId, templateId: t.id, similarity: cosine(query, t.vector) }))
      .sort((a, b) => b.similarity - a.similarity);
  }

  function exactPeople(query: Float32Array): Map<string, number> {
    const bestOf = new Map<string, number>();
    for (const t of exact(query)) if (!bestOf.has(t.personId)) bestOf.set(t.personId, t.similarity);
    return bestOf;
  }

  // Built once, in a folder of its own: these tests only read it.
  let searchDir: string;
  before(() => {
    searchDir = mkdtempSync(join(tmpdir(), 'tp-vector-cache-search-'));
    const config = vectorCacheConfigSchema.parse({ path: join(searchDir, 'cache.db') });
    cache = VectorCache.open(options({ config, create: true }));
    cache.applyRosterChanges(
      people.map((person, i) => ({
        seq: i + 1,
        kind: 'enrol',
        personId: person.id,
        templates: person.templates,
      })),
    );
  });
  after(() => {
    cache.close();
    rmSync(searchDir, { recursive: true, force: true });
  });

  it('finds the exact top-1 template with its exact cosine, best first', () => {
    for (let q = 0; q < 60; q++) {
      const person = people[Math.floor(faces.random() * people.length)]!;
      const query = faces.capture(person.centre);
      const truth = exact(query);
      const hits = cache.search(query, 3);
      assert.equal(hits.length, 3);
      assert.equal(hits[0]!.templateId, truth[0]!.templateId);
      assert.equal(hits[0]!.personId, person.id);
      for (const hit of hits) {
        assert.ok(
          Math.abs(hit.similarity - cosine(query, all.find((t) => t.id === hit.templateId)!.vector)) < 1e-5,
        );
      }
      assert.ok(hits[0]!.similarity >= hits[1]!.similarity && hits[1]!.similarity >= hits[2]!.similarity);
    }
  });

  it('gives distinct persons with their exact best similarity, and a look-alike as the exact second-best', () => {
    let lookalikesSeen = 0;
    for (let q = 0; q < 60; q++) {
      const person =
        q % 6 === 0 ? people.at(-1)! : withLookalike[Math.floor(faces.random() * withLookalike.length)]!;
      const query = faces.capture(person.centre);
      const truth = [...exactPeople(query)];
      const hits = cache.searchPeople(query, 5);
      assert.equal(hits.length, 5);
      assert.equal(new Set(hits.map((h) => h.personId)).size, 5);
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.similarity >= hits[i]!.similarity);
      const exactOf = new Map(truth);
      for (const hit of hits) assert.ok(Math.abs(hit.similarity - exactOf.get(hit.personId)!) < 1e-5);
      assert.equal(hits[0]!.personId, truth[0]![0]);
      // The second-best decides the margin; a contender above 0.4 (the default pack matches from 0.45 with a
      // 0.05 margin) is always found. Below, the answer may be another person, but never a higher similarity.
      assert.ok(hits[1]!.similarity <= truth[1]![1] + 1e-6);
      if (truth[1]![1] >= 0.4) {
        assert.equal(hits[1]!.personId, truth[1]![0]);
        lookalikesSeen++;
      }
    }
    assert.ok(lookalikesSeen >= 20, `only ${lookalikesSeen} queries had a contender above 0.4`);
  });

  it('takes more candidates when the first ones belong to too few persons', () => {
    const query = faces.capture(crowd);
    const hits = cache.searchPeople(query, 300);
    assert.equal(hits.length, 300);
    assert.equal(new Set(hits.map((h) => h.personId)).size, 300);
    assert.equal(hits[0]!.personId, 'many');
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.similarity >= hits[i]!.similarity);
  });

  it('answers with what there is when the gallery is small', () => {
    const small = VectorCache.open(
      options({ config: vectorCacheConfigSchema.parse({ path: join(dir, 'small.db') }), create: true }),
    );
    assert.deepEqual(small.searchPeople(faces.capture(crowd), 2), []);
    small.applyRosterChange(enrol(1, 'only', [faces.capture(crowd), faces.capture(crowd)]));
    const hits = small.searchPeople(faces.capture(crowd), 5);
    assert.deepEqual(
      hits.map((h) => h.personId),
      ['only'],
    );
    assert.equal(small.search(faces.capture(crowd), 5).length, 2);
    small.close();
  });

  it('refuses a malformed query with TP_AGENT_CACHE_QUERY_INVALID', () => {
    throwsCode(() => cache.search(new Float32Array(128), 1), AgentErrorCode.cacheQueryInvalid);
    throwsCode(() => cache.searchPeople(new Float32Array(512), 1), AgentErrorCode.cacheQueryInvalid);
    throwsCode(() => cache.searchPeople(faces.capture(crowd), 0), AgentErrorCode.cacheQueryInvalid);
  });
});

describe('synthetic faces', () => {
  it('look like face embeddings: captures of one person ~0.7 apart, of different people ~0.07', () => {
    const faces = syntheticFaces(6);
    const genuine: number[] = [];
    const impostor: number[] = [];
    let previous = faces.identity();
    for (let i = 0; i < 300; i++) {
      const centre = faces.identity();
      const capture = faces.capture(centre);
      genuine.push(cosine(capture, faces.capture(centre)));
      impostor.push(cosine(capture, faces.capture(previous)));
      previous = centre;
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const spread = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    assert.ok(mean(genuine) > 0.62 && mean(genuine) < 0.78, `genuine mean ${mean(genuine)}`);
    assert.ok(mean(impostor) > 0.02 && mean(impostor) < 0.15, `impostor mean ${mean(impostor)}`);
    assert.ok(spread(impostor) > 0.06 && spread(impostor) < 0.13, `impostor spread ${spread(impostor)}`);
    assert.ok(Math.min(...genuine) > Math.max(...impostor) - 0.1);
  });
});
