// CSV exports that open correctly in a spreadsheet: UTF-8 with a byte-order mark (Excel reads names with
// accents right), CRLF line ends and quoting as in RFC 4180, ISO dates and times with the site's offset.
import type { AttendanceDayView, EventView, PersonView } from './api.ts';
import { isoLocal } from './time.ts';

export type Cell = string | number | null;

const bom = '\uFEFF';

/**
 * One field. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at its start) gets a
 * leading apostrophe (names and groups are typed by people; OWASP "CSV injection").
 */
export function csvField(value: Cell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return bom + [header, ...rows].map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}

export interface ExportContext {
  siteId: string;
  timeZone: string;
  people: ReadonlyMap<string, PersonView>;
}

const at = (t: number | null, zone: string) => (t === null ? null : isoLocal(t, zone));

/** One row per person per day. */
export function attendanceDaysCsv(days: readonly AttendanceDayView[], context: ExportContext): string {
  const header = [
    'date',
    'site',
    'person_id',
    'external_id',
    'name',
    'groups',
    'first_in',
    'first_in_door',
    'last_out',
    'last_out_door',
    'passes',
  ];
  const rows = days.map((d) => {
    const person = context.people.get(d.personId);
    return [
      d.date,
      d.siteId,
      d.personId,
      person?.externalId ?? null,
      person?.displayName ?? null,
      person ? person.groups.join('; ') : null,
      at(d.firstInAt, context.timeZone),
      d.firstInCameraId,
      at(d.lastOutAt, context.timeZone),
      d.lastOutCameraId,
      d.passes,
    ];
  });
  return toCsv(header, rows);
}

/** One row per pass (attendance event). */
export function passesCsv(events: readonly EventView[], context: ExportContext): string {
  const header = [
    'date',
    'time',
    'site',
    'person_id',
    'external_id',
    'name',
    'door',
    'direction',
    'device',
    'similarity',
    'liveness',
    'event_id',
  ];
  const rows = events.map((e) => {
    const person = e.personId === null ? undefined : context.people.get(e.personId);
    const time = isoLocal(e.capturedAt, context.timeZone);
    return [
      time.slice(0, 10),
      time,
      e.siteId,
      e.personId,
      person?.externalId ?? null,
      person?.displayName ?? null,
      e.cameraId,
      e.direction,
      e.deviceId,
      e.similarity,
      e.liveness,
      e.eventId,
    ];
  });
  return toCsv(header, rows);
}

/** Hands the text to the browser as a file download. */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
