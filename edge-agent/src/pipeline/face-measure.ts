import type { Face, FaceQuality, ModelPack, QualityLimits, RgbImage } from '@truepresence/model-pack';
import { type GateVerdict, gateFace } from './quality-gate.ts';

export interface MeasuredFace {
  face: Face;
  /** The face warped to the 112x112 template (what the embedder sees). */
  aligned: RgbImage;
  quality: FaceQuality;
  verdict: GateVerdict;
}

/** Aligns a detected face, measures its quality and passes it through the camera's gate. */
export function measureFace(
  pack: ModelPack,
  image: RgbImage,
  face: Face,
  limits: QualityLimits,
): MeasuredFace {
  const aligned = pack.align(image, face);
  const quality = pack.quality(image, face, aligned);
  return { face, aligned, quality, verdict: gateFace(quality, limits, face.score) };
}
