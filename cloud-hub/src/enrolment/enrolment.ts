// Enrolment from a photo: decode (JPEG/PNG/WebP), find exactly one face, check its quality against the model
// pack's limits, embed it, refuse it when it looks like someone else already enrolled (1:N), then store the
// template encrypted, with the roster changes that carry it to the person's sites, in one transaction.
// Every refusal is a coded error whose message says what to do with the photo.
import type { Face, FaceAnalysis, QualityIssue, RgbImage } from '@truepresence/model-pack';
import { isTpError, type Logger, MAX_TEMPLATES_PER_PERSON } from '@truepresence/protocol';
import sharp from 'sharp';
import type { HubConfig } from '../config.ts';
import type { DataCipher } from '../data-cipher.ts';
import { type HubErrorCode as Code, HubErrorCode, hubError } from '../errors.ts';
import type { HubMetrics } from '../metrics.ts';
import type { RosterService } from '../roster/roster.ts';
import type { HubStore, RosterChange, TemplateRecord } from '../store/index.ts';
import type { FaceModels, FaceToolkit } from './face-models.ts';

/** A second face at least this big relative to the biggest one makes the photo ambiguous. */
const secondFaceRatio = 0.5;

/** Which rejection a quality issue gives, first match first: darkness also lowers the measured sharpness. */
const issueOrder: Array<{ issues: QualityIssue[]; code: Code; advice: string }> = [
  {
    issues: ['face-too-small', 'eyes-too-close'],
    code: HubErrorCode.enrolFaceTooSmall,
    advice: 'the face is too small; use a closer or higher-resolution photo',
  },
  {
    issues: ['too-dark'],
    code: HubErrorCode.enrolTooDark,
    advice: 'the face is too dark; take the photo in good light',
  },
  {
    issues: ['too-bright'],
    code: HubErrorCode.enrolTooBright,
    advice: 'the face is overexposed; take the photo out of direct light',
  },
  {
    issues: ['blurry'],
    code: HubErrorCode.enrolTooBlurred,
    advice: 'the face is blurred; use a sharp photo',
  },
  {
    issues: ['yaw', 'pitch', 'roll'],
    code: HubErrorCode.enrolPose,
    advice: 'the head is turned or tilted too far; use a photo looking straight at the camera',
  },
];

export interface EnrolResult {
  template: { id: string; personId: string; modelPack: string; quality: number | null; createdAt: number };
  /** The aligned 112x112 face the template was made from, as a PNG data URL, for the person to check. */
  alignedFace: string;
  face: { box: Face['box']; score: number; quality: FaceAnalysis['quality'] };
  changes: RosterChange[];
}

export interface EnrolmentOptions {
  store: HubStore;
  roster: RosterService;
  models: FaceModels;
  cipher: DataCipher;
  metrics: HubMetrics;
  logger: Logger;
  config: HubConfig['enrolment'];
}

export class Enrolment {
  readonly #o: EnrolmentOptions;

  constructor(options: EnrolmentOptions) {
    this.#o = options;
  }

  /** Checks and enrols one photo of `personId`; `actor` is written to the audit log. */
  async enrol(personId: string, photo: Buffer, contentType: string, actor: string): Promise<EnrolResult> {
    try {
      const result = await this.#enrol(personId, photo, contentType, actor);
      this.#o.metrics.enrolments.inc({ result: 'ok' });
      return result;
    } catch (error) {
      this.#o.metrics.enrolments.inc({ result: isTpError(error) ? error.code : HubErrorCode.internal });
      throw error;
    }
  }

  async #enrol(personId: string, photo: Buffer, contentType: string, actor: string): Promise<EnrolResult> {
    const { store } = this.#o;
    const person = await store.getPerson(personId);
    if (!person)
      throw hubError(HubErrorCode.storePersonUnknown, `person "${personId}" does not exist`, { personId });
    if (person.erasedAt !== null) {
      throw hubError(
        HubErrorCode.storePersonErased,
        `person "${personId}" has been erased; add them again as a new person`,
        {
          personId,
        },
      );
    }
    if (person.siteIds.length === 0) {
      throw hubError(
        HubErrorCode.personNoSite,
        `person "${personId}" belongs to no site, so no agent would recognise them; add a site to the person first`,
        { personId },
      );
    }
    const consents = await store.listConsents(personId);
    if (!consents.some((c) => c.withdrawnAt === null)) {
      throw hubError(
        HubErrorCode.storeConsentMissing,
        `record the consent or legal basis of person "${personId}" before enrolling a photo`,
        { personId },
      );
    }
    const existing = await store.listTemplates({ personId });
    if (existing.length >= MAX_TEMPLATES_PER_PERSON) {
      throw hubError(
        HubErrorCode.enrolTooManyTemplates,
        `person "${personId}" already has ${existing.length} templates (the most is ${MAX_TEMPLATES_PER_PERSON}); delete one first`,
        { personId, templates: existing.length },
      );
    }
    const faces = await this.#o.models.get();
    const { pack } = faces;
    const image = await this.#decode(faces, photo);
    const { face, analysis } = await this.#singleFace(faces, image);
    await this.#refuseDuplicate(faces, personId, analysis.embedding);

    const template = this.#o.roster.encryptTemplate(personId, analysis.embedding);
    const { record, changes } = await store.transaction(async (repo) => {
      const record = await repo.addTemplate({
        personId,
        modelPackVersion: pack.id,
        template,
        quality: face.score,
      });
      if (this.#o.config.keepPhotos) {
        await repo.addPhoto({
          personId,
          contentType,
          photo: this.#o.cipher.encrypt(photo, `photo:${personId}`),
        });
      }
      const changes = await this.#o.roster.templatesChanged(
        repo,
        personId,
        person.siteIds,
        existing.length === 0,
      );
      await repo.appendAudit({
        actor,
        action: 'person.enrol',
        target: personId,
        details: {
          templateId: record.id,
          modelPack: pack.id,
          photoKept: this.#o.config.keepPhotos,
          rosterChanges: changes.map((c) => ({ siteId: c.siteId, seq: c.seq })),
        },
      });
      return { record, changes };
    });
    await this.#o.roster.publish(changes);
    return {
      template: templateView(record),
      alignedFace: await pngDataUrl(analysis.aligned),
      face: { box: face.box, score: face.score, quality: analysis.quality },
      changes,
    };
  }

  async #decode(faces: FaceToolkit, photo: Buffer): Promise<RgbImage> {
    const maxBytes = this.#o.config.maxPhotoBytes;
    if (photo.byteLength > maxBytes) {
      throw hubError(
        HubErrorCode.enrolImageTooLarge,
        `the photo is ${photo.byteLength} bytes; the limit is ${maxBytes}`,
        {
          bytes: photo.byteLength,
          maxBytes,
        },
      );
    }
    try {
      return await faces.decodeImage(photo, { maxBytes });
    } catch (error) {
      throw hubError(
        HubErrorCode.enrolImageUnreadable,
        `the photo cannot be read (${(error as Error).message}); upload a JPEG, PNG or WebP photo`,
        { cause: isTpError(error) ? error.code : undefined },
        error,
      );
    }
  }

  async #singleFace({ pack }: FaceToolkit, image: RgbImage): Promise<{ face: Face; analysis: FaceAnalysis }> {
    const detected = await pack.detect(image);
    const area = (f: Face) => f.box.width * f.box.height;
    const [face, ...others] = [...detected].sort((a, b) => area(b) - area(a));
    if (!face) {
      throw hubError(
        HubErrorCode.enrolNoFace,
        'no face was found in the photo; use a photo of the person facing the camera',
      );
    }
    const rivals = others.filter((f) => area(f) >= secondFaceRatio * secondFaceRatio * area(face));
    if (rivals.length > 0) {
      throw hubError(
        HubErrorCode.enrolSeveralFaces,
        `the photo shows ${rivals.length + 1} faces; crop it to the person being enrolled`,
        { faces: rivals.length + 1 },
      );
    }
    const analysis = await pack.analyze(image, face);
    for (const rule of issueOrder) {
      const missed = rule.issues.filter((issue) => analysis.qualityIssues.includes(issue));
      if (missed.length > 0) {
        throw hubError(rule.code, rule.advice, {
          issues: missed,
          quality: analysis.quality,
          limits: pack.qualityLimits,
        });
      }
    }
    return { face, analysis };
  }

  /** 1:N at enrolment: a face this close to another person's template is most likely that person. */
  async #refuseDuplicate(
    { pack, cosineSimilarity }: FaceToolkit,
    personId: string,
    embedding: Float32Array,
  ): Promise<void> {
    const threshold = this.#o.config.duplicateSimilarity ?? pack.thresholds.match;
    const templates = await this.#o.store.listTemplates({ modelPackVersion: pack.id });
    let best: { template: TemplateRecord; similarity: number } | undefined;
    for (const template of templates) {
      if (template.personId === personId) continue;
      const similarity = cosineSimilarity(embedding, this.#o.roster.decryptTemplate(template));
      if (!best || similarity > best.similarity) best = { template, similarity };
    }
    if (best && best.similarity >= threshold) {
      const other = await this.#o.store.getPerson(best.template.personId);
      throw hubError(
        HubErrorCode.enrolDuplicate,
        `this face looks like already-enrolled person "${other?.displayName ?? best.template.personId}" (${best.template.personId}); check that the photo is of the right person`,
        {
          personId: best.template.personId,
          displayName: other?.displayName ?? null,
          similarity: Math.round(best.similarity * 1000) / 1000,
          threshold,
        },
      );
    }
  }
}

function templateView(record: TemplateRecord): EnrolResult['template'] {
  return {
    id: record.id,
    personId: record.personId,
    modelPack: record.modelPackVersion,
    quality: record.quality,
    createdAt: record.createdAt,
  };
}

async function pngDataUrl(image: RgbImage): Promise<string> {
  const png = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
