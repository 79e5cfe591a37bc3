import type { Face, FaceQuality, ModelPack, QualityLimits, RgbImage } from '@truepresence/model-pack';
import { type GateVerdict, gateFace } from './quality-gate.ts';

export interface MeasuredFace {
  face: Face;
  /** The face warped to the 112x112 template (what the embedder sees). */
  aligned: RgbImage;
  quality: FaceQuality;
  verdict: GateVerdict;
}

/** Aligns each detected face, measures its quality and passes it through the camera's gate. */
export function measureFaces(
  pack: ModelPack,
  image: RgbImage,
  faces: readonly Face[],
  limits: QualityLimits,
): MeasuredFace[] {
  return faces.map((face) => {
    const aligned = pack.align(image, face);
    const quality = pack.quality(image, face, aligned);
    return { face, aligned, quality, verdict: gateFace(quality, limits, face.score) };
  });
}
