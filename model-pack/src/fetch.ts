// The install step (`truepresence-models fetch`, run by the root postinstall): takes the default pack's ONNX
// files out of the npm tarball of faceplugin-face-recognition-js, verifies them, and prepares them. Nothing is
// downloaded at run time; a cache directory seeded by hand (prepared files, shipped files or the tarball)
// works without registry access.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, sha256OfFile } from './checksum.ts';
import { ModelErrorCode, modelError } from './errors.ts';
import { zeroDenormalInitializers } from './onnx-denormals.ts';
import { extractFromTgz } from './tar.ts';

export interface ModelSourceFile {
  /** Path inside the tarball. */
  entry: string;
  /** File name inside the source's cache folder. */
  file: string;
  /** sha256 of the file as the package ships it. */
  shippedSha256: string;
  /** Zero denormal float weights (same outputs, 4-10x faster on CPU). */
  zeroDenormals: boolean;
  /** sha256 after preparation: what the manifest names. */
  sha256: string;
}

export interface ModelSource {
  /** npm package spec handed to `npm pack`. */
  spec: string;
  /** File name `npm pack` writes for that spec. */
  tarball: string;
  /** Folder inside the cache directory that receives the prepared files. */
  dir: string;
  files: ModelSourceFile[];
}

export const defaultModelSource: ModelSource = {
  spec: 'faceplugin-face-recognition-js@0.0.1',
  tarball: 'faceplugin-face-recognition-js-0.0.1.tgz',
  dir: 'faceplugin-face-recognition-js-0.0.1',
  files: [
    {
      entry: 'package/model/fr_detect.onnx',
      file: 'fr_detect.onnx',
      shippedSha256: '6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854',
      zeroDenormals: false,
      sha256: '6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854',
    },
    {
      entry: 'package/model/fr_landmark.onnx',
      file: 'fr_landmark.onnx',
      shippedSha256: 'f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258',
      zeroDenormals: true,
      sha256: '9ab4828f8c7d51228e8de8931efb25ee716d63b84fadc6f0c042cac5c86b12d5',
    },
    {
      entry: 'package/model/fr_feature.onnx',
      file: 'fr_feature.onnx',
      shippedSha256: '87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581',
      zeroDenormals: true,
      sha256: 'ef40c4854a3c4fc43ea2d77a60f7d89fe6aa324f7840a7f74351beb60d94ec0b',
    },
    {
      entry: 'package/model/fr_liveness.onnx',
      file: 'fr_liveness.onnx',
      shippedSha256: 'afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d',
      zeroDenormals: false,
      sha256: 'afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d',
    },
  ],
};

/** `model-pack/.cache`: where `cache:` paths of a manifest point unless a cache directory is given. */
export const defaultCacheDir = join(import.meta.dirname, '..', '.cache');

export interface FetchOptions {
  cacheDir: string;
  source?: ModelSource;
  /** Command that runs npm (tests point it at something that must never be called). */
  npmCommand?: string;
  /** Never ask the registry; fail with instructions when the cache cannot be prepared from what it holds. */
  offline?: boolean;
  progress?: (line: string) => void;
}

export interface FetchReport {
  dir: string;
  /** `verified`: everything was already in place; `prepared`: files were written. */
  action: 'verified' | 'prepared';
  downloaded: boolean;
  files: Array<{ file: string; sha256: string; zeroedDenormals: number }>;
}

function runNpmPack(npm: string, spec: string, destination: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(npm, ['pack', spec, '--pack-destination', destination, '--silent'], {
      cwd: destination,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (cause) =>
      reject(modelError(ModelErrorCode.fetchFailed, `cannot run ${npm}: ${cause.message}`, { npm }, cause)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          modelError(
            ModelErrorCode.fetchFailed,
            `npm pack ${spec} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`,
            { spec, exitCode: code },
          ),
        );
    });
  });
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.partial`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

/**
 * Makes sure the cache directory holds the prepared model files with their recorded sha256. A valid cache
 * is a fast no-op; otherwise files come from shipped copies already in the cache, then from the tarball in
 * the cache, and only then from the registry (`npm pack`).
 */
export async function fetchModels(options: FetchOptions): Promise<FetchReport> {
  const source = options.source ?? defaultModelSource;
  const progress = options.progress ?? (() => {});
  const dir = join(options.cacheDir, source.dir);
  await mkdir(dir, { recursive: true });

  const pending: ModelSourceFile[] = [];
  for (const file of source.files) {
    if ((await sha256OfFile(join(dir, file.file))) !== file.sha256) pending.push(file);
  }
  const done = (file: ModelSourceFile, zeroed: number) => ({
    file: file.file,
    sha256: file.sha256,
    zeroedDenormals: zeroed,
  });
  if (pending.length === 0) {
    progress(`${source.files.length} model files verified in ${dir}`);
    return { dir, action: 'verified', downloaded: false, files: source.files.map((f) => done(f, 0)) };
  }

  // Shipped (unprepared) copies seeded into the cache folder need no archive.
  const shipped = new Map<string, Uint8Array>();
  for (const file of pending) {
    const path = join(dir, file.file);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes && sha256Hex(bytes) === file.shippedSha256) shipped.set(file.entry, bytes);
  }

  let downloaded = false;
  const fromArchive = pending.filter((f) => !shipped.has(f.entry));
  if (fromArchive.length > 0) {
    const tarballPath = join(options.cacheDir, source.tarball);
    let tgz = await readFile(tarballPath).catch(() => undefined);
    if (!tgz) {
      if (options.offline) {
        throw modelError(
          ModelErrorCode.fetchFailed,
          `model cache ${options.cacheDir} lacks ${fromArchive.map((f) => f.file).join(', ')} and registry access is off; copy ${source.tarball} (from \`npm pack ${source.spec}\` on a connected machine) into ${options.cacheDir}`,
          { cacheDir: options.cacheDir, missing: fromArchive.map((f) => f.file) },
        );
      }
      progress(`downloading ${source.spec} with npm pack into ${options.cacheDir} (about 41 MB, once)`);
      await runNpmPack(options.npmCommand ?? 'npm', source.spec, options.cacheDir);
      downloaded = true;
      tgz = await readFile(tarballPath).catch((cause: unknown) => {
        throw modelError(ModelErrorCode.fetchFailed, `npm pack did not write ${tarballPath}`, {}, cause);
      });
    }
    progress(`extracting ${fromArchive.length} model files from ${source.tarball}`);
    const entries = extractFromTgz(tgz, new Set(fromArchive.map((f) => f.entry)));
    for (const file of fromArchive) {
      const bytes = entries.get(file.entry);
      if (!bytes) {
        throw modelError(ModelErrorCode.archiveInvalid, `${source.tarball} has no ${file.entry}`, {
          entry: file.entry,
        });
      }
      shipped.set(file.entry, bytes);
    }
  }

  const files: FetchReport['files'] = [];
  for (const file of source.files) {
    const bytes = shipped.get(file.entry);
    if (!bytes) {
      files.push(done(file, 0));
      continue;
    }
    const actual = sha256Hex(bytes);
    if (actual !== file.shippedSha256) {
      throw modelError(
        ModelErrorCode.checksumMismatch,
        `${file.entry} in ${source.tarball} has sha256 ${actual}, expected ${file.shippedSha256}; delete ${join(options.cacheDir, source.tarball)} and fetch again`,
        { file: file.file, expected: file.shippedSha256, actual },
      );
    }
    const prepared = Buffer.from(bytes);
    const zeroed = file.zeroDenormals ? zeroDenormalInitializers(prepared).zeroed : 0;
    const preparedSha = sha256Hex(prepared);
    if (preparedSha !== file.sha256) {
      throw modelError(
        ModelErrorCode.checksumMismatch,
        `prepared ${file.file} has sha256 ${preparedSha}, expected ${file.sha256}`,
        { file: file.file, expected: file.sha256, actual: preparedSha },
      );
    }
    await writeAtomically(join(dir, file.file), prepared);
    progress(
      `${file.file}: sha256 verified${file.zeroDenormals ? `, ${zeroed} denormal weights set to zero` : ''}`,
    );
    files.push(done(file, zeroed));
  }
  progress(`model files ready in ${dir}`);
  return { dir, action: 'prepared', downloaded, files };
}
