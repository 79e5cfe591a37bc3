import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDays, ago, clock, dayStart, isoLocal, localDate } from './time.ts';

const hour = 3_600_000;

describe('site-local time', () => {
  it('gives the local date of an instant, whatever the runtime zone', () => {
    const t = Date.UTC(2026, 5, 30, 22, 30);
    assert.equal(localDate(t, 'UTC'), '2026-06-30');
    assert.equal(localDate(t, 'Europe/Paris'), '2026-07-01');
    assert.equal(localDate(t, 'America/New_York'), '2026-06-30');
  });

  it('starts days at local midnight, with 23- and 25-hour days at daylight-saving changes', () => {
    assert.equal(dayStart('2026-03-28', 'Europe/Paris'), Date.UTC(2026, 2, 27, 23));
    assert.equal(dayStart('2026-03-30', 'Europe/Paris') - dayStart('2026-03-29', 'Europe/Paris'), 23 * hour);
    assert.equal(dayStart('2026-10-26', 'Europe/Paris') - dayStart('2026-10-25', 'Europe/Paris'), 25 * hour);
    assert.equal(dayStart('2026-11-22', 'UTC'), Date.UTC(2026, 10, 22));
  });

  it('starts a day whose midnight is skipped at the jump', () => {
    // Chile moves its clocks from 24:00 to 01:00 on 2026-09-06.
    assert.equal(dayStart('2026-09-06', 'America/Santiago'), Date.UTC(2026, 8, 6, 4));
    assert.equal(localDate(dayStart('2026-09-06', 'America/Santiago'), 'America/Santiago'), '2026-09-06');
  });

  it('writes ISO 8601 with the offset of the zone at that instant, half hours and negatives included', () => {
    const t = Date.UTC(2026, 0, 15, 12, 0, 5);
    assert.equal(isoLocal(t, 'Europe/Paris'), '2026-01-15T13:00:05+01:00');
    assert.equal(isoLocal(Date.UTC(2026, 6, 15, 12), 'Europe/Paris'), '2026-07-15T14:00:00+02:00');
    assert.equal(isoLocal(t, 'Asia/Kolkata'), '2026-01-15T17:30:05+05:30');
    assert.equal(isoLocal(t, 'America/St_Johns'), '2026-01-15T08:30:05-03:30');
    assert.equal(isoLocal(t, 'UTC'), '2026-01-15T12:00:05+00:00');
    assert.equal(clock(t, 'Asia/Kolkata'), '17:30');
    assert.equal(clock(t, 'Asia/Kolkata', true), '17:30:05');
  });

  it('adds calendar days across months and years', () => {
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  });

  it('says how long ago in words', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    assert.equal(ago(now - 10_000, now), 'just now');
    assert.equal(ago(now - 5 * 60_000, now), '5 min ago');
    assert.equal(ago(now - 3 * hour, now), '3 h ago');
    assert.equal(ago(now - 24 * hour, now), '1 day ago');
    assert.equal(ago(now - 72 * hour, now), '3 days ago');
  });
});
