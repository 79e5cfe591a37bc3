// Times on the page are shown in the site's own time zone (attendance days are site-local days on the hub),
// whatever the browser's zone is. Dates are YYYY-MM-DD; instants are epoch milliseconds.
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

/** The wall clock of instant `t` in `timeZone`, written as if it were UTC, to the second. */
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

function pad(n: number, width = 2): string {
  return String(Math.trunc(Math.abs(n))).padStart(width, '0');
}

/** The site-local date of instant `t`. */
export function localDate(t: number, timeZone: string): string {
  return new Date(wallClock(t, timeZone)).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

/** First instant of a local date (the earlier midnight when it happens twice, the jump when it is skipped). */
export function dayStart(date: string, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const candidates = [offsetAt(wall - dayMs, timeZone), offsetAt(wall + dayMs, timeZone)]
    .map((offset) => wall - offset)
    .filter((t) => wallClock(t, timeZone) === wall)
    .sort((a, b) => a - b);
  return candidates[0] ?? wall - offsetAt(wall - dayMs, timeZone);
}

/** ISO 8601 with the site's offset, to the second: 2026-03-29T08:05:00+02:00 (what the CSV export writes). */
export function isoLocal(t: number, timeZone: string): string {
  const offsetMinutes = Math.round(offsetAt(t, timeZone) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const zone = `${sign}${pad(offsetMinutes / 60)}:${pad(offsetMinutes % 60)}`;
  return `${new Date(wallClock(t, timeZone)).toISOString().slice(0, 19)}${zone}`;
}

/** HH:MM (or HH:MM:SS) in the site's zone. */
export function clock(t: number, timeZone: string, seconds = false): string {
  return isoLocal(t, timeZone).slice(11, seconds ? 19 : 16);
}

/** YYYY-MM-DD HH:MM in the site's zone (or the browser's when no zone is given). */
export function dateTime(t: number, timeZone?: string): string {
  const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return isoLocal(t, zone).slice(0, 16).replace('T', ' ');
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function ago(t: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - t) / 1000));
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  const days = Math.round(seconds / 86_400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}
