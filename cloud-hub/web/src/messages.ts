// Plain words for the hub's error codes and alert kinds. The hub's own message (what to do) follows the
// headline; unknown codes show the message alone.
import { ApiError } from './api.ts';

const headlines: Record<string, string> = {
  TP_WEB_OFFLINE: 'No connection to the hub',
  TP_HUB_AUTH_LOGIN_FAILED: 'Wrong user name or password',
  TP_HUB_AUTH_RATE_LIMITED: 'Too many failed attempts',
  TP_HUB_AUTH_FORBIDDEN: 'Your account may not do this',
  TP_HUB_AUTH_REQUIRED: 'Please log in again',
  TP_HUB_AUTH_CSRF: 'Please log in again',
  TP_HUB_ENROL_NO_FACE: 'No face found',
  TP_HUB_ENROL_SEVERAL_FACES: 'More than one face',
  TP_HUB_ENROL_FACE_TOO_SMALL: 'The face is too small',
  TP_HUB_ENROL_TOO_BLURRED: 'The photo is blurred',
  TP_HUB_ENROL_TOO_DARK: 'The photo is too dark',
  TP_HUB_ENROL_TOO_BRIGHT: 'The photo is too bright',
  TP_HUB_ENROL_POSE: 'The face is turned away',
  TP_HUB_ENROL_DUPLICATE: 'Looks like someone already enrolled',
  TP_HUB_ENROL_IMAGE_UNREADABLE: 'The file is not a readable photo',
  TP_HUB_ENROL_IMAGE_TOO_LARGE: 'The file is too large',
  TP_HUB_REQUEST_TOO_LARGE: 'The file is too large',
  TP_HUB_ENROL_TOO_MANY_TEMPLATES: 'Enough photos already',
  TP_HUB_ENROL_UNAVAILABLE: 'Enrolment is not available right now',
  TP_HUB_MEDIA_TYPE_UNSUPPORTED: 'Unsupported file type',
  TP_HUB_STORE_CONSENT_MISSING: 'No consent or legal basis on record',
  TP_HUB_PERSON_NO_SITE: 'The person has no site',
  TP_HUB_STORE_EXTERNAL_ID_TAKEN: 'That external id is already used',
  TP_HUB_STORE_PERSON_ERASED: 'This person has been erased',
};

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  const first = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** A headline and advice for any error the page shows. */
export function explain(error: unknown): { title: string; advice: string; code: string } {
  if (!(error instanceof ApiError)) {
    return {
      title: 'Something went wrong',
      advice: sentence(String((error as Error)?.message ?? error)),
      code: '',
    };
  }
  const title = headlines[error.code] ?? (error.status >= 500 ? 'The hub could not do this' : undefined);
  const advice = sentence(error.message);
  const same = (a: string) => a.toLowerCase().replace(/[^a-z0-9]/g, '');
  return title
    ? { title, advice: same(advice) === same(title) ? '' : advice, code: error.code }
    : { title: sentence(error.message), advice: '', code: error.code };
}

export const alertText: Record<string, string> = {
  sequence_gap: 'Events missing: a gap in the device’s event sequence',
  chain_break: 'Hash chain broken: an event does not link to the one before',
  replay: 'Replayed event refused',
  signature_bad: 'Event with a bad signature refused',
  unknown_device: 'Event from an unknown device refused',
  revoked_device: 'Revoked device tried to send events',
  device_mismatch: 'Device sent under another device’s name',
  sync_lag: 'Device not keeping up: roster changes or events waiting',
  clock_skew: 'Device clock is wrong',
  camera_down: 'Camera down',
  storage_low: 'Device storage nearly full',
};

export const legalBasisText: Record<string, string> = {
  consent: 'Consent of the person',
  contract: 'Contract (employment)',
  legal_obligation: 'Legal obligation',
  legitimate_interest: 'Legitimate interest',
};
