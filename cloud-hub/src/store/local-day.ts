// Site-local calendar days as UTC millisecond ranges, computed here rather than in SQL: the dates come from
// requests, so each is checked and a bad one refused with a coded error.
import { HubErrorCode, hubError } from '../errors.ts';
import { addDays as addDaysTo, dayStart as dayStartIn } from '../time-zone.ts';

const dayMs = 86_400_000;

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

/** First instant of a local date (see time-zone.ts for days whose midnight is doubled or skipped). */
export function dayStart(date: string, timeZone: string): number {
  parseDate(date);
  return dayStartIn(date, timeZone);
}

export function addDays(date: string, days: number): string {
  parseDate(date);
  return addDaysTo(date, days);
}

/** The instants [start, end) of one local date. */
export function dayRange(date: string, timeZone: string): { start: number; end: number } {
  return { start: dayStart(date, timeZone), end: dayStart(addDays(date, 1), timeZone) };
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
  return Array.from({ length: count }, (_, i) => addDaysTo(from, i));
}
