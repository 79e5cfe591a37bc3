// A real, encrypted vector cache in a temporary folder, filled the way the hub enrols people: the largest
// face of each enrolment photo, aligned and embedded by the same model pack.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeImage, type ModelPack } from '@truepresence/model-pack';
import type { Logger } from '@truepresence/protocol';
import { VectorCache } from '../../edge-agent/src/cache/vector-cache.ts';

export interface Enrolment {
  personId: string;
  photos: readonly Uint8Array[];
}

/** Creates the cache in `dir` and enrols each person (one roster change each); returns it open. */
export async function enrolGallery(
  dir: string,
  pack: ModelPack,
  people: readonly Enrolment[],
  logger: Logger,
): Promise<VectorCache> {
  const cache = VectorCache.open({
    config: { path: join(dir, 'vector-cache.db'), pageCacheMiB: 16 },
    key: randomBytes(32),
    modelPack: pack.id,
    create: true,
    logger,
  });
  let seq = 0;
  for (const person of people) {
    const templates = [];
    for (const [i, photo] of person.photos.entries()) {
      const image = await decodeImage(photo);
      const faces = await pack.detect(image);
      const face = faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
      if (!face) throw new Error(`no face in enrolment photo ${i + 1} of ${person.personId}`);
      templates.push({
        id: `${person.personId}-${i + 1}`,
        vector: await pack.embed(pack.align(image, face)),
      });
    }
    cache.applyRosterChange({ seq: ++seq, kind: 'enrol', personId: person.personId, templates });
  }
  return cache;
}
