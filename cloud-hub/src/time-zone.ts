// Time-zone arithmetic shared by the hub and the admin page (so it imports nothing): attendance days are
// site-local days, so day boundaries move with daylight saving (23- and 25-hour days). Dates are
// YYYY-MM-DD strings the callers have checked; instants are epoch milliseconds.
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

function pad(n: number): string {
  return String(Math.trunc(Math.abs(n))).padStart(2, '0');
}

/** The site-local date (YYYY-MM-DD) of instant `t`. */
export function localDate(t: number, timeZone: string): string {
  return new Date(wallClock(t, timeZone)).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

/**
 * First instant of a local date. When midnight happens twice the earlier one counts; when a daylight-saving
 * jump skips midnight the day starts at the jump.
 */
export function dayStart(date: string, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const before = offsetAt(wall - dayMs, timeZone);
  const after = offsetAt(wall + dayMs, timeZone);
  const candidates = [before, after]
    .map((offset) => wall - offset)
    .filter((t) => wallClock(t, timeZone) === wall)
    .sort((a, b) => a - b);
  return candidates[0] ?? wall - before;
}

/** ISO 8601 with the zone's offset at that instant, to the second: 2026-03-29T08:05:00+02:00. */
export function isoLocal(t: number, timeZone: string): string {
  const offsetMinutes = Math.round(offsetAt(t, timeZone) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const zone = `${sign}${pad(offsetMinutes / 60)}:${pad(offsetMinutes % 60)}`;
  return `${new Date(wallClock(t, timeZone)).toISOString().slice(0, 19)}${zone}`;
}
