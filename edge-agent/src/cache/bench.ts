import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, EMBEDDING_DIMENSIONS } from '@truepresence/protocol';
import Database from 'better-sqlite3-multiple-ciphers';
import * as sqliteVec from 'sqlite-vec';
import { vectorCacheConfigSchema } from './config.ts';
import { type SyntheticFaces, syntheticFaces } from './synthetic.ts';
import { type CacheRosterChange, VectorCache } from './vector-cache.ts';

export interface SearchTiming {
  /** Wall-clock latency of one search. */
  p50Ms: number;
  p95Ms: number;
  /** CPU time of one search: what it costs a core, whatever else the machine runs. */
  cpuP50Ms: number;
  cpuP95Ms: number;
}

export interface VariantFigures {
  n1000: SearchTiming;
  n10000: SearchTiming;
  n100000: SearchTiming;
  /** Share of queries at 100k whose first answer is the exact float32 search's top-1 template. */
  recallAt1: number;
}

type VariantName = 'float32' | 'int8' | 'bit32Rescored';

export interface SearchBenchResult {
  /** The agent's search: `searchPeople` on the encrypted cache (in-memory binary scan, float rescoring). */
  search: VariantFigures & {
    /** With `variants`: plain vec0 alternatives on the same data, for comparison. */
    variants?: Record<VariantName, VariantFigures>;
  };
}

export interface SearchBenchOptions {
  /** Timed queries per gallery size (the recall is measured on those at 100k). */
  queries?: number;
  seed?: number;
  /** Persons asked per query: the pipeline's default searchK. */
  k?: number;
  /** Also time vec0 float32 (exact), int8 and bit top-32 + float rescoring; their queries are fewer. */
  variants?: boolean;
}

const sizes = [1000, 10_000, 100_000] as const;
/** Share of enrolled persons that get a look-alike (a sibling) in the gallery too. */
const lookalikeShare = 0.02;
const variantQueries = 40;

interface Gallery {
  faces: SyntheticFaces;
  centres: Float32Array[];
  /** Every stored template, flat: template i at [i * 512, (i + 1) * 512). */
  vectors: Float32Array;
  ids: string[];
  size: number;
}

function vectorAt(gallery: Gallery, index: number): Buffer {
  const bytes = EMBEDDING_DIMENSIONS * 4;
  return Buffer.from(gallery.vectors.buffer, gallery.vectors.byteOffset + index * bytes, bytes);
}

/** Enrols persons of 1-5 templates (and a few look-alikes) until the cache holds `target` templates. */
function grow(cache: VectorCache, gallery: Gallery, target: number): void {
  const changes: CacheRosterChange[] = [];
  const flush = () => {
    cache.applyRosterChanges(changes);
    changes.length = 0;
  };
  while (gallery.size < target) {
    const previous = gallery.centres.at(-1);
    const centre =
      previous && gallery.faces.random() < lookalikeShare
        ? gallery.faces.lookalike(previous)
        : gallery.faces.identity();
    const personId = `p${gallery.centres.length}`;
    gallery.centres.push(centre);
    const count = Math.min(1 + Math.floor(gallery.faces.random() * 5), target - gallery.size);
    const templates = [];
    for (let t = 0; t < count; t++) {
      const vector = gallery.faces.capture(centre);
      const id = `${personId}-t${t}`;
      gallery.vectors.set(vector, gallery.size * EMBEDDING_DIMENSIONS);
      gallery.ids.push(id);
      gallery.size++;
      templates.push({ id, vector });
    }
    changes.push({ seq: cache.appliedRosterSeq() + changes.length + 1, kind: 'enrol', personId, templates });
    if (changes.length === 500) flush();
  }
  flush();
}

/** The exact float32 top-1 template, by brute force over every stored vector. */
function exactTop1(gallery: Gallery, query: Float32Array): string {
  let best = -2;
  let bestAt = -1;
  const { vectors } = gallery;
  for (let t = 0; t < gallery.size; t++) {
    const base = t * EMBEDDING_DIMENSIONS;
    let dot = 0;
    for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) dot += vectors[base + i]! * query[i]!;
    if (dot > best) {
      best = dot;
      bestAt = t;
    }
  }
  return gallery.ids[bestAt]!;
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 1000) / 1000;
}

/** Times `search` over the queries; returns the timings and each query's first answer. */
function time(queries: Float32Array[], search: (query: Float32Array) => string): [SearchTiming, string[]] {
  for (const query of queries.slice(0, 5)) search(query);
  const wall: number[] = [];
  const cpu: number[] = [];
  const answers: string[] = [];
  for (const query of queries) {
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    answers.push(search(query));
    wall.push(performance.now() - started);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const timing = {
    p50Ms: percentile(wall, 0.5),
    p95Ms: percentile(wall, 0.95),
    cpuP50Ms: percentile(cpu, 0.5),
    cpuP95Ms: percentile(cpu, 0.95),
  };
  return [timing, answers];
}

/** Plain vec0 tables over the same templates: float32 cosine (exact), int8 cosine, bit + float rescoring. */
function variantTables(path: string) {
  const db = new Database(path);
  db.pragma("cipher = 'chacha20'");
  db.pragma(`key = 'raw:${randomBytes(32).toString('hex')}'`);
  sqliteVec.load(db);
  db.pragma('journal_mode = WAL');
  db.pragma('cache_size = -1048576');
  db.exec(`
    CREATE VIRTUAL TABLE v_float USING vec0(v float[${EMBEDDING_DIMENSIONS}] distance_metric=cosine);
    CREATE VIRTUAL TABLE v_int8 USING vec0(v int8[${EMBEDDING_DIMENSIONS}] distance_metric=cosine);
    CREATE VIRTUAL TABLE v_bit USING vec0(v bit[${EMBEDDING_DIMENSIONS}]);
    CREATE TABLE v_raw (id INTEGER PRIMARY KEY, v BLOB NOT NULL);`);
  const inserts = [
    db.prepare('INSERT INTO v_float (rowid, v) VALUES (?, ?)'),
    db.prepare("INSERT INTO v_int8 (rowid, v) VALUES (?, vec_quantize_int8(vec_f32(?), 'unit'))"),
    db.prepare('INSERT INTO v_bit (rowid, v) VALUES (?, vec_quantize_binary(vec_f32(?)))'),
  ];
  const insertRaw = db.prepare('INSERT INTO v_raw (id, v) VALUES (?, ?)');
  const searches = {
    float32: db.prepare<{ q: Buffer }, { id: number }>(
      'SELECT rowid AS id FROM v_float WHERE v MATCH :q AND k = 1',
    ),
    int8: db.prepare<{ q: Buffer }, { id: number }>(
      "SELECT rowid AS id FROM v_int8 WHERE v MATCH vec_quantize_int8(vec_f32(:q), 'unit') AND k = 1",
    ),
    bit32Rescored: db.prepare<{ q: Buffer }, { id: number }>(`
      WITH coarse AS (SELECT rowid FROM v_bit WHERE v MATCH vec_quantize_binary(vec_f32(:q)) AND k = 32)
      SELECT r.id FROM coarse CROSS JOIN v_raw AS r ON r.id = coarse.rowid
      ORDER BY vec_distance_cosine(r.v, vec_f32(:q)) LIMIT 1`),
  };
  return {
    searches,
    add(gallery: Gallery, from: number) {
      db.transaction(() => {
        for (let i = from; i < gallery.size; i++) {
          const bytes = vectorAt(gallery, i);
          for (const insert of inserts) insert.run(BigInt(i + 1), bytes);
          insertRaw.run(i + 1, bytes);
        }
      })();
    },
    close: () => db.close(),
  };
}

/**
 * The `search` part of the `store` bench: 1:N search as the agent runs it (`searchPeople` on the encrypted
 * cache) on one thread at 1k, 10k and 100k templates of synthetic face-like embeddings (persons of 1-5
 * templates, 2% with a look-alike), queried with fresh captures of enrolled persons; recall@1 against
 * exact float32 search at 100k.
 */
export async function benchSearch(options: SearchBenchOptions = {}): Promise<SearchBenchResult> {
  const queries = options.queries ?? 300;
  const k = options.k ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-search-'));
  const cache = VectorCache.open({
    // Sized as the config advises for 100k templates (about 2.9 KiB each): the whole file in memory.
    config: vectorCacheConfigSchema.parse({ path: join(dir, 'cache.db'), pageCacheMiB: 320 }),
    key: randomBytes(32),
    modelPack: 'bench',
    create: true,
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  const variants = options.variants ? variantTables(join(dir, 'variants.db')) : undefined;
  try {
    const gallery: Gallery = {
      faces: syntheticFaces(options.seed ?? 20_240_601),
      centres: [],
      vectors: new Float32Array(sizes.at(-1)! * EMBEDDING_DIMENSIONS),
      ids: [],
      size: 0,
    };
    const timings: SearchTiming[] = [];
    const variantTimings: Record<VariantName, SearchTiming[]> = { float32: [], int8: [], bit32Rescored: [] };
    const recall: Record<VariantName | 'search', number> = {
      search: 0,
      float32: 0,
      int8: 0,
      bit32Rescored: 0,
    };
    for (const size of sizes) {
      const before = gallery.size;
      grow(cache, gallery, size);
      variants?.add(gallery, before);
      const asked = Array.from({ length: queries }, () =>
        gallery.faces.capture(gallery.centres[Math.floor(gallery.faces.random() * gallery.centres.length)]!),
      );
      const last = size === sizes.at(-1);
      const truth = last ? asked.map((query) => exactTop1(gallery, query)) : [];
      const [timing, answers] = time(asked, (query) => cache.searchPeople(query, k)[0]?.templateId ?? '');
      timings.push(timing);
      if (last) recall.search = answers.filter((answer, i) => answer === truth[i]).length / queries;
      for (const [name, statement] of Object.entries(variants?.searches ?? {}) as Array<
        [VariantName, NonNullable<typeof variants>['searches'][VariantName]]
      >) {
        const subset = asked.slice(0, variantQueries);
        const [variantTiming, ids] = time(subset, (query) => {
          const row = statement.get({ q: Buffer.from(query.buffer, query.byteOffset, query.byteLength) });
          return row ? gallery.ids[row.id - 1]! : '';
        });
        variantTimings[name].push(variantTiming);
        if (last) recall[name] = ids.filter((id, i) => id === truth[i]).length / subset.length;
      }
      // Let timers and I/O callbacks run between the long synchronous stretches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const figures = (list: SearchTiming[], recallAt1: number): VariantFigures => ({
      n1000: list[0]!,
      n10000: list[1]!,
      n100000: list[2]!,
      recallAt1,
    });
    return {
      search: {
        ...figures(timings, recall.search),
        ...(variants
          ? {
              variants: {
                float32: figures(variantTimings.float32, recall.float32),
                int8: figures(variantTimings.int8, recall.int8),
                bit32Rescored: figures(variantTimings.bit32Rescored, recall.bit32Rescored),
              },
            }
          : {}),
      },
    };
  } finally {
    variants?.close();
    cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
