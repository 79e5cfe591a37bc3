// The hub's REST API (/api/v1) as the page uses it. Types come from the hub's own response schemas, so a
// change there fails `tsc -p cloud-hub/web`. The session is an HttpOnly cookie; every change also sends
// the CSRF token returned at login (kept in localStorage, so that a reload or a second tab keeps it).
import type { z } from 'zod';
import type {
  alertView,
  auditView,
  consentView,
  deviceView,
  eventView,
  personView,
  siteView,
  templateView,
  userView,
} from '../../src/api/views.ts';
import type { AttendanceDay, ErasureStatus, LegalBasis, Role } from '../../src/store/hub-store.ts';

export type SiteView = z.infer<typeof siteView>;
export type DeviceView = z.infer<typeof deviceView>;
export type PersonView = z.infer<typeof personView>;
export type ConsentView = z.infer<typeof consentView>;
export type TemplateView = z.infer<typeof templateView>;
export type EventView = z.infer<typeof eventView>;
export type AlertView = z.infer<typeof alertView>;
export type AuditView = z.infer<typeof auditView>;
export type UserView = z.infer<typeof userView>;
export type AttendanceDayView = AttendanceDay;
export type { ErasureStatus, LegalBasis, Role };
export type PersonDetail = PersonView & { consents: ConsentView[]; templates: TemplateView[] };

export interface Me {
  username: string;
  role: Role;
  siteScope: string[] | null;
  csrfToken?: string;
}

export interface EnrolResult {
  template: TemplateView;
  alignedFace: string;
  face: { score: number; quality: Record<string, number> };
}

export interface EraseResult {
  erasure: ErasureStatus;
  templatesDeleted: number;
}

export const base = '/api/v1';
const csrfKey = 'tp.csrf';

/** An answer other than 2xx: the hub's coded error, or a network failure (code TP_WEB_OFFLINE). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let onSessionLost: (() => void) | undefined;

/** Called when the hub says the session is gone (expired, logged out elsewhere). */
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

export function rememberCsrf(token: string | undefined): void {
  if (token) localStorage.setItem(csrfKey, token);
  else localStorage.removeItem(csrfKey);
}

export function hasCsrf(): boolean {
  return localStorage.getItem(csrfKey) !== null;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { contentType?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = localStorage.getItem(csrfKey) ?? '';
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    payload = body;
    headers['content-type'] = options.contentType ?? body.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(payload === undefined ? {} : { body: payload }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'TP_WEB_OFFLINE', 'The hub cannot be reached. Check the connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => null)) as {
    code?: string;
    message?: string;
    details?: Record<string, unknown>;
  } | null;
  if (!response.ok) {
    const error = new ApiError(
      response.status,
      data?.code ?? `HTTP_${response.status}`,
      data?.message ?? response.statusText,
      data?.details ?? {},
    );
    const lost = error.code === 'TP_HUB_AUTH_REQUIRED' || error.code === 'TP_HUB_AUTH_CSRF';
    if (lost && path !== '/auth/login') onSessionLost?.();
    throw error;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>('GET', withQuery(path, query), undefined, signal ? { signal } : {}),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, file: File) => request<T>('POST', path, file, { contentType: file.type }),
};

/** Every person matching `query`, in pages of 1000. */
export async function allPeople(query: Query = {}): Promise<PersonView[]> {
  const limit = 1000;
  const people: PersonView[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await api.get<{ people: PersonView[] }>('/people', { ...query, limit, offset });
    people.push(...page.people);
    if (page.people.length < limit) return people;
  }
}

/** Every event matching `query`, oldest first, following the hub's cursor. */
export async function allEvents(query: Query): Promise<EventView[]> {
  const events: EventView[] = [];
  let after: string | null = null;
  do {
    const page: { events: EventView[]; next: string | null } = await api.get('/events', {
      ...query,
      order: 'asc',
      limit: 1000,
      after,
    });
    events.push(...page.events);
    after = page.next;
  } while (after);
  return events;
}
