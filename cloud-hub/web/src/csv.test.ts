import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttendanceDayView, EventView, PersonView } from './api.ts';
import { attendanceDaysCsv, csvField, passesCsv, toCsv } from './csv.ts';

const person: PersonView = {
  id: 'p1',
  displayName: 'Zoë "Zed" Ångström, Jr.',
  externalId: '=HYPERLINK("x")',
  groups: ['Day shift', 'R&D'],
  siteIds: ['site-a'],
  createdAt: 0,
  updatedAt: 0,
  erasedAt: null,
};
const context = { siteId: 'site-a', timeZone: 'Europe/Paris', people: new Map([[person.id, person]]) };
const at = (h: number, m: number) => Date.UTC(2026, 6, 1, h, m);

describe('CSV export', () => {
  it('starts with a byte-order mark and ends every row with CRLF', () => {
    const text = toCsv(['a', 'b'], [[1, null]]);
    assert.equal(text, '\uFEFFa,b\r\n1,\r\n');
  });

  it('quotes commas, quotes, line breaks and edge spaces, and defuses formulas', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(' padded'), '" padded"');
    assert.equal(csvField('=1+1'), "'=1+1");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('-2'), "'-2");
    assert.equal(csvField(-2), '-2');
    assert.equal(csvField(0.73), '0.73');
  });

  it('writes one row per person per day with local ISO times', () => {
    const day: AttendanceDayView = {
      date: '2026-07-01',
      siteId: 'site-a',
      personId: 'p1',
      passes: 3,
      firstInAt: at(6, 58),
      firstInCameraId: 'door-1',
      lastOutAt: at(15, 2),
      lastOutCameraId: 'door-2',
      lastSeenAt: at(15, 2),
      lastCameraId: 'door-2',
    };
    const stranger = { ...day, personId: 'p9', firstInAt: null, firstInCameraId: null };
    const lines = attendanceDaysCsv([day, stranger], context).slice(1).split('\r\n');
    assert.equal(
      lines[0],
      'date,site,person_id,external_id,name,groups,first_in,first_in_door,last_out,last_out_door,passes',
    );
    assert.equal(
      lines[1],
      `2026-07-01,site-a,p1,"'=HYPERLINK(""x"")","Zoë ""Zed"" Ångström, Jr.",Day shift; R&D,2026-07-01T08:58:00+02:00,door-1,2026-07-01T17:02:00+02:00,door-2,3`,
    );
    assert.equal(lines[2], '2026-07-01,site-a,p9,,,,,,2026-07-01T17:02:00+02:00,door-2,3');
    assert.equal(lines[3], '');
  });

  it('writes one row per pass', () => {
    const event: EventView = {
      eventId: '0197c0de-0000-7000-8000-000000000001',
      deviceId: 'cam-1',
      siteId: 'site-a',
      cameraId: 'door-1',
      kind: 'attendance',
      personId: 'p1',
      direction: null,
      capturedAt: at(22, 30),
      similarity: 0.71,
      margin: 0.2,
      liveness: 0.97,
      quality: 0.8,
      rosterSeq: 4,
      modelPack: 'faceplugin-default@1.0.0',
      deviceSeq: 12,
      receivedAt: at(22, 30),
    };
    const lines = passesCsv([event], context).slice(1).split('\r\n');
    assert.equal(
      lines[0],
      'date,time,site,person_id,external_id,name,door,direction,device,similarity,liveness,event_id',
    );
    // 22:30 UTC is already the next day in Paris.
    assert.equal(
      lines[1],
      `2026-07-02,2026-07-02T00:30:00+02:00,site-a,p1,"'=HYPERLINK(""x"")","Zoë ""Zed"" Ångström, Jr.",door-1,,cam-1,0.71,0.97,${event.eventId}`,
    );
  });
});
