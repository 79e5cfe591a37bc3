// Times on the page are shown in the site's own time zone (attendance days are site-local days on the hub),
// whatever the browser's zone is. Dates are YYYY-MM-DD; instants are epoch milliseconds.
import { isoLocal } from '../../src/time-zone.ts';

export { addDays, dayStart, isoLocal, localDate } from '../../src/time-zone.ts';

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
