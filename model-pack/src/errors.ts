import { codedError } from '@truepresence/protocol';

/** Stable codes of the model-pack workspace. Never reuse a code; add new ones at the end. */
export const ModelErrorCode = {
  manifestUnreadable: 'TP_MODEL_MANIFEST_UNREADABLE',
  manifestInvalid: 'TP_MODEL_MANIFEST_INVALID',
  fileMissing: 'TP_MODEL_FILE_MISSING',
  checksumMismatch: 'TP_MODEL_CHECKSUM_MISMATCH',
  loadFailed: 'TP_MODEL_LOAD_FAILED',
  backendUnknown: 'TP_MODEL_BACKEND_UNKNOWN',
  inferenceFailed: 'TP_MODEL_INFERENCE_FAILED',
  outputInvalid: 'TP_MODEL_OUTPUT_INVALID',
  notStarted: 'TP_MODEL_NOT_STARTED',
  imageEmpty: 'TP_MODEL_IMAGE_EMPTY',
  imageCorrupt: 'TP_MODEL_IMAGE_CORRUPT',
  imageTruncated: 'TP_MODEL_IMAGE_TRUNCATED',
  imageTooLarge: 'TP_MODEL_IMAGE_TOO_LARGE',
  imageUnsupported: 'TP_MODEL_IMAGE_UNSUPPORTED',
  frameInvalid: 'TP_MODEL_FRAME_INVALID',
  fetchFailed: 'TP_MODEL_FETCH_FAILED',
  archiveInvalid: 'TP_MODEL_ARCHIVE_INVALID',
  onnxInvalid: 'TP_MODEL_ONNX_INVALID',
  evalDataInvalid: 'TP_MODEL_EVAL_DATA_INVALID',
  usage: 'TP_MODEL_USAGE',
  noFace: 'TP_MODEL_NO_FACE',
} as const;

export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

export const modelError = codedError<ModelErrorCode>;
