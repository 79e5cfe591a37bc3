import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import sharp from 'sharp';
import {
  bestAccuracyThreshold,
  evaluatePack,
  parseCsv,
  rocCurve,
  tarAtFar,
  thresholdAtFar,
} from './evaluate.ts';
import { decodeImage } from './image.ts';
import { defaultManifestPath } from './manifest.ts';
import { loadModelPack, type ModelPack } from './pack.ts';
import { rocSvg } from './roc.ts';
import { evalGate } from './sections.ts';

const demo = join(import.meta.dirname, '..', '..', 'node_modules', '@vladmandic', 'face-api', 'demo');

describe('evaluation metrics', () => {
  it('reads CSV with quoted fields', () => {
    const rows = parseCsv('file,note,same\r\na.jpg,"x, ""quoted""",1\nb.jpg,,0\n');
    assert.deepEqual(rows, [
      { file: 'a.jpg', note: 'x, "quoted"', same: '1' },
      { file: 'b.jpg', note: '', same: '0' },
    ]);
  });

  it('finds the best threshold and the TAR at a given FAR', () => {
    const scored = [
      { score: 0.9, same: true },
      { score: 0.7, same: true },
      { score: 0.5, same: false },
      { score: 0.6, same: true },
      { score: 0.1, same: false },
    ];
    const best = bestAccuracyThreshold(scored);
    assert.equal(best.accuracy, 1);
    assert.ok(best.threshold > 0.5 && best.threshold < 0.6);
    const impostor = Array.from({ length: 1000 }, (_, i) => i / 1000);
    assert.equal(thresholdAtFar(impostor, 1e-2), 0.989);
    assert.equal(tarAtFar([0.995, 0.99, 0.5, 0.999], impostor, 1e-2), 0.75);
    const roc = rocCurve([0.8, 0.9], [0.1, 0.2], 10);
    assert.deepEqual(roc[0], { threshold: 0.1, far: 1, tar: 1 });
    assert.deepEqual(roc.at(-1), { threshold: 0.9, far: 0, tar: 0.5 });
    assert.match(rocSvg([{ label: 'a<b', points: roc }]), /^<svg[\s\S]*a&#60;b[\s\S]*<\/svg>\n$/);
  });

  it('gates on the minimum accuracy', () => {
    const faces = {
      detectionRate: 1,
      verificationAccuracy: 0.99,
      threshold: 0.45,
      bestThreshold: 0.43,
      tarAtFar1e2: 0.97,
      tarAtFar1e3: 0.96,
      rank1: 0.97,
      pairs: 537,
      identities: 31,
    };
    assert.deepEqual(evalGate({ faces, liveness: { apcer: 0, bpcer: 0, samples: 6 } }), []);
    const failures = evalGate({
      faces: { ...faces, rank1: 0.5 },
      liveness: { apcer: 0.5, bpcer: 0, samples: 6 },
    });
    assert.equal(failures.length, 2);
    assert.match(failures[0]!, /faces\.rank1 is 0\.5000, target >= 0\.96/);
  });
});

describe('evaluatePack on a labelled folder', () => {
  let pack: ModelPack;
  let data: string;

  before(async () => {
    pack = await loadModelPack(defaultManifestPath);
    data = await mkdtemp(join(tmpdir(), 'tp-eval-'));
    // Four people from one group photo, each as two differently framed and scaled photos.
    const jpeg = await readFile(join(demo, 'sample5.jpg'));
    const faces = (await pack.detect(await decodeImage(jpeg))).slice(0, 4);
    const labels = ['file,identity,suggested_split'];
    const pairs = ['file_a,file_b,same'];
    for (const [i, face] of faces.entries()) {
      await mkdir(join(data, 'faces', `p${i}`), { recursive: true });
      for (const [k, margin] of [1.2, 2].entries()) {
        const side = Math.round(Math.max(face.box.width, face.box.height) * margin);
        const left = Math.max(0, Math.round(face.box.x + face.box.width / 2 - side / 2));
        const top = Math.max(0, Math.round(face.box.y + face.box.height / 2 - side / 2));
        const crop = await sharp(jpeg)
          .extract({ left, top, width: Math.min(side, 1920 - left), height: Math.min(side, 1398 - top) })
          .resize(k === 0 ? 300 : 180)
          .jpeg()
          .toBuffer();
        await writeFile(join(data, 'faces', `p${i}`, `${k}.jpg`), crop);
        labels.push(`faces/p${i}/${k}.jpg,p${i},${k === 0 ? 'enrol' : 'probe'}`);
      }
      pairs.push(`faces/p${i}/0.jpg,faces/p${i}/1.jpg,1`);
      if (i > 0) pairs.push(`faces/p${i}/0.jpg,faces/p${i - 1}/1.jpg,0`);
    }
    await writeFile(join(data, 'labels.csv'), `${labels.join('\n')}\n`);
    await writeFile(join(data, 'pairs.csv'), `${pairs.join('\n')}\n`);
    await mkdir(join(data, 'antispoof'));
    await writeFile(join(data, 'antispoof', 'live.jpg'), await readFile(join(data, 'faces', 'p0', '0.jpg')));
    await writeFile(join(data, 'antispoof', 'labels.csv'), 'file,label\nlive.jpg,live\n');
  });
  after(async () => {
    await pack.stop();
    await rm(data, { recursive: true, force: true });
  });

  it('reports detection, verification, identification and liveness figures', async () => {
    const evaluation = await evaluatePack(pack, data);
    assert.deepEqual(evaluation.faces, {
      ...evaluation.faces,
      detectionRate: 1,
      verificationAccuracy: 1,
      threshold: pack.thresholds.match,
      tarAtFar1e2: 1,
      tarAtFar1e3: 1,
      rank1: 1,
      pairs: 7,
      identities: 4,
    });
    assert.equal(evaluation.genuine.length, 4);
    assert.equal(evaluation.impostor.length, 24);
    assert.equal(evaluation.liveness.samples, 1);
    assert.equal(evaluation.liveness.apcer, 0);
    assert.ok(evaluation.roc.length > 10);
  });

  it('says which file is missing from a data folder', async () => {
    await assert.rejects(
      evaluatePack(pack, join(data, 'faces')),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_EVAL_DATA_INVALID') && error.message.includes('labels.csv'),
    );
  });
});
