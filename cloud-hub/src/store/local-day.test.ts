import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import fc from 'fast-check';
import { isTimeZone, localDate } from '../time-zone.ts';
import { addDays, datesBetween, dayRange, dayStart } from './local-day.ts';

const at = (iso: string) => Date.parse(iso);
const hours = (range: { start: number; end: number }) => (range.end - range.start) / 3_600_000;

test('ordinary days, fixed offsets and half-hour zones', () => {
  assert.deepEqual(dayRange('2026-01-05', 'UTC'), {
    start: at('2026-01-05T00:00:00Z'),
    end: at('2026-01-06T00:00:00Z'),
  });
  assert.equal(dayStart('2026-01-05', 'Asia/Kolkata'), at('2026-01-04T18:30:00Z'));
  assert.equal(dayStart('2026-07-01', 'Europe/Paris'), at('2026-06-30T22:00:00Z'));
  assert.equal(localDate(at('2026-01-04T18:29:59.999Z'), 'Asia/Kolkata'), '2026-01-04');
  assert.equal(localDate(at('2026-01-04T18:30:00Z'), 'Asia/Kolkata'), '2026-01-05');
});

test('daylight-saving days last 23 or 25 hours', () => {
  assert.equal(hours(dayRange('2026-03-29', 'Europe/London')), 23);
  assert.equal(hours(dayRange('2026-10-25', 'Europe/London')), 25);
  assert.equal(hours(dayRange('2026-03-08', 'America/New_York')), 23);
  assert.equal(hours(dayRange('2026-11-01', 'America/New_York')), 25);
});

test('a jump over midnight starts the day at the jump; a repeated midnight counts once', () => {
  // Chile: on 2024-09-08 clocks went from 00:00 (-04) straight to 01:00 (-03).
  assert.equal(dayStart('2024-09-08', 'America/Santiago'), at('2024-09-08T04:00:00Z'));
  assert.equal(hours(dayRange('2024-09-08', 'America/Santiago')), 23);
  // Cuba: on 2024-11-03 clocks went back from 01:00 (-04) to 00:00 (-05): the day starts at the first midnight.
  assert.equal(dayStart('2024-11-03', 'America/Havana'), at('2024-11-03T04:00:00Z'));
  assert.equal(hours(dayRange('2024-11-03', 'America/Havana')), 25);
});

test('every instant falls inside the range of its own local date', () => {
  const zones = [
    'UTC',
    'Europe/London',
    'America/New_York',
    'America/Santiago',
    'Asia/Kolkata',
    'Pacific/Chatham',
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: at('2000-01-01T00:00:00Z'), max: at('2040-01-01T00:00:00Z') }),
      fc.constantFrom(...zones),
      (t, zone) => {
        const { start, end } = dayRange(localDate(t, zone), zone);
        return start <= t && t < end && end - start >= 22 * 3_600_000 && end - start <= 26 * 3_600_000;
      },
    ),
    { numRuns: 2000 },
  );
});

test('dates are validated; ranges are listed inclusively and bounded', () => {
  assert.equal(isTimeZone('Europe/Paris'), true);
  assert.equal(isTimeZone('Europe/Atlantis'), false);
  assert.equal(addDays('2024-02-28', 1), '2024-02-29');
  assert.deepEqual(datesBetween('2025-12-30', '2026-01-02', 10), [
    '2025-12-30',
    '2025-12-31',
    '2026-01-01',
    '2026-01-02',
  ]);
  for (const bad of ['2026-02-29', '2026-13-01', '26-01-01', '2026-1-1', '']) {
    assert.throws(
      () => dayStart(bad, 'UTC'),
      (e: unknown) => isTpError(e, 'TP_HUB_STORE_DATE_INVALID'),
    );
  }
  assert.throws(
    () => datesBetween('2026-01-02', '2026-01-01', 10),
    (e: unknown) => isTpError(e, 'TP_HUB_STORE_DATE_INVALID'),
  );
  assert.throws(
    () => datesBetween('2026-01-01', '2026-01-11', 10),
    (e: unknown) => isTpError(e, 'TP_HUB_STORE_DATE_INVALID'),
  );
});
