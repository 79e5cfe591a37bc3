// Site-local calendar days as UTC millisecond ranges. Attendance is "per day" in the site's own time zone,
// so day boundaries move with daylight saving (23- and 25-hour days) and are computed here, not in SQL.
import { HubErrorCode, hubError } from '../errors.ts';

const dayMs = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** True for an IANA time zone name this runtime knows ("Europe/Paris", "UTC"). */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time of instant `t` in `timeZone`, written as if it were UTC, to the second. */
function wallClock(t: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(t)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

function offsetAt(t: number, timeZone: string): number {
  return wallClock(t, timeZone) - Math.floor(t / 1000) * 1000;
}

function parseDate(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const utc = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (Number.isNaN(utc) || new Date(utc).toISOString().slice(0, 10) !== date) {
    throw hubError(HubErrorCode.storeDateInvalid, `"${date}" is not a calendar date; write YYYY-MM-DD`, {
      date,
    });
  }
  return utc;
}

/** The site-local date (YYYY-MM-DD) of instant `t`. */
export function localDate(t: number, timeZone: string): string {
  return new Date(wallClock(t, timeZone)).toISOString().slice(0, 10);
}

/**
 * First instant of a local date. When midnight happens twice the earlier one counts; when a daylight-saving
 * jump skips midnight the day starts at the jump.
 */
export function dayStart(date: string, timeZone: string): number {
  const wall = parseDate(date);
  const before = offsetAt(wall - dayMs, timeZone);
  const after = offsetAt(wall + dayMs, timeZone);
  const candidates = [before, after]
    .map((offset) => wall - offset)
    .filter((t) => wallClock(t, timeZone) === wall)
    .sort((a, b) => a - b);
  return candidates[0] ?? wall - before;
}

/** The instants [start, end) of one local date. */
export function dayRange(date: string, timeZone: string): { start: number; end: number } {
  return { start: dayStart(date, timeZone), end: dayStart(addDays(date, 1), timeZone) };
}

export function addDays(date: string, days: number): string {
  return new Date(parseDate(date) + days * dayMs).toISOString().slice(0, 10);
}

/** Every date from `from` to `to`, both included; at most `limit` of them. */
export function datesBetween(from: string, to: string, limit: number): string[] {
  const first = parseDate(from);
  const count = (parseDate(to) - first) / dayMs + 1;
  if (count < 1 || count > limit) {
    throw hubError(
      HubErrorCode.storeDateInvalid,
      `date range ${from}..${to} must run forwards and span at most ${limit} days`,
      { from, to, limit },
    );
  }
  return Array.from({ length: count }, (_, i) => addDays(from, i));
}
