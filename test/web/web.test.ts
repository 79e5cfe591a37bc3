// The admin web page in a real browser (Debian's Chromium through playwright-core) against a real hub
// (buildHub with its embedded broker and SQLite on free ports): log in, enrol a person from a real photo,
// see a signed event sent by a device over MQTT appear on Today without a reload, export attendance as
// CSV, erase the person and follow each device's confirmation, and check that a viewer can reach no admin
// action in the page nor through the API. Screenshots of every page go to test-artifacts/web/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createLogger, parseConfig } from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { hubConfigSchema } from '../../cloud-hub/src/config.ts';
import { buildHub } from '../../cloud-hub/src/hub.ts';
import { facePhotos } from '../helpers/clips.ts';
import { tempDir } from '../hub/harness.ts';
import { makeIdentity, registration, SimDevice } from '../hub/sim-device.ts';
import {
  artifactsDir,
  type Browser,
  ensureWebBuilt,
  launchBrowser,
  recordLayoutShifts,
  takeLayoutShift,
  unlabelledControls,
} from './browser.ts';

const site = { id: 'site-a', name: 'Head office', timeZone: 'Europe/Paris' };
const viewer = { username: 'viewer1', password: 'viewer-password-1' };
/** Faces (x1, y1, x2, y2) found by the default pack's detector: one looking at the camera, one tilted. */
const faces = {
  straight: { photo: 3, box: [1075, 196, 1298, 502] },
  tilted: { photo: 1, box: [1463, 215, 1680, 429] },
} as const;
/** Layout shift of a page as it loads and updates; 0.1 is the "good" limit of Core Web Vitals. */
const maxLayoutShift = 0.1;

/** One face cut out of a group photo with a margin around it, as an operator would crop it. */
async function facePhoto(face: (typeof faces)[keyof typeof faces]): Promise<Buffer> {
  const [x1, y1, x2, y2] = face.box;
  const margin = Math.round((x2 - x1) * 0.6);
  return sharp(facePhotos[face.photo - 1]!)
    .extract({
      left: x1 - margin,
      top: y1 - margin,
      width: x2 - x1 + 2 * margin,
      height: y2 - y1 + 2 * margin,
    })
    .jpeg({ quality: 92 })
    .toBuffer();
}

function parseCsv(text: string): string[][] {
  assert.ok(text.endsWith('\r\n'), 'rows end with CRLF');
  return text
    .slice(0, -2)
    .split('\r\n')
    .map((line) => line.split(','));
}

describe('admin web page', () => {
  const dir = tempDir('tp-web-');
  let app: FastifyInstance;
  let baseUrl: string;
  let adminPassword = '';
  let browser: Browser;
  let page: Page;
  let device: SimDevice;
  let personId = '';
  const sent: string[] = [];

  /** The agent's retained status, as it publishes it after applying roster changes up to `rosterSeq`. */
  const publishStatus = (rosterSeq: number) =>
    device.publishStatus({
      state: 'online',
      at: new Date().toISOString(),
      backlog: 0,
      rosterSeq,
      modelPack: 'faceplugin-default@1.0.0',
      cameras: [
        {
          id: 'door-1',
          state: 'ok',
          inputFps: 25,
          analysedFps: 8,
          droppedFrames: 12,
          decodeErrors: 0,
          reconnects: 0,
          lastFrameAgeMs: 40,
        },
      ],
    });
  const shot = (name: string) => page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
  const api = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const response = await app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${app.keys.adminToken}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json() as T;
  };
  /** Goes to a page without reloading; its layout shift is counted from here. */
  const go = async (hash: string) => {
    await takeLayoutShift(page);
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  };
  /** Every control of the page has a label, and the page did not jump while it loaded. */
  const checkPage = async (name: string) => {
    assert.deepEqual(await unlabelledControls(page), [], `unlabelled controls on ${name}`);
    const shift = await takeLayoutShift(page);
    assert.ok(shift < maxLayoutShift, `layout shift ${shift.toFixed(3)} on ${name}`);
  };

  before(async () => {
    mkdirSync(artifactsDir, { recursive: true });
    await ensureWebBuilt();
    const config = parseConfig(
      hubConfigSchema,
      {
        dataDir: dir.path,
        log: { level: 'silent' },
        store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
        broker: { type: 'embedded', port: 0, persistence: 'memory' },
        http: { port: 0 },
      },
      'test',
    );
    app = await buildHub(config, {
      logger: createLogger({ level: 'silent', name: 'web-test' }),
      onFirstAdminPassword: (password) => {
        adminPassword = password;
      },
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    await api('POST', '/sites', site);
    const identity = await makeIdentity(site.id, 'cam-1');
    await api('POST', '/devices', registration(identity));
    device = new SimDevice(identity, `mqtt://127.0.0.1:${app.broker.address()!.port}`);
    await device.connect();
    publishStatus(0);
    browser = await launchBrowser();
    await recordLayoutShifts(browser.context);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  });

  after(async () => {
    await browser?.close();
    await device?.close();
    await app?.close();
    dir.dispose();
  });

  test('the hub serves the built page with a content security policy, gzip and ETags', async () => {
    const index = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(index.statusCode, 200);
    assert.match(
      String(index.headers['content-security-policy']),
      /default-src 'self'.*frame-ancestors 'none'/,
    );
    const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(gunzipSync(index.rawPayload).toString())![1]!;
    const js = await app.inject({ url: script, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const again = await app.inject({ url: script, headers: { 'if-none-match': String(js.headers.etag) } });
    assert.equal(again.statusCode, 304);
  });

  test('first start gives a one-time admin password; a wrong one is refused in plain words', async () => {
    assert.ok(adminPassword.length >= 16);
    await page.goto(baseUrl);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('Wrong user name or password', { exact: true }).waitFor();
    await checkPage('login');
    await shot('01-login');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
    await page.getByText('Nobody seen yet today').waitFor();
    await checkPage('today');
    await shot('02-today-empty');
  });

  test('enrols a person with consent from a real photo; a group photo is refused with the reason', async () => {
    await go('#/people');
    await page.getByText('No people yet').waitFor();
    await checkPage('people');
    await page.getByRole('link', { name: 'Add person' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Ada Lovelace');
    await page.getByLabel('External id').fill('E-1001');
    await page.getByLabel('Groups').fill('Engineering, Day shift');
    assert.ok(await page.getByLabel('Head office').isChecked(), 'the only site is chosen');
    await page.getByLabel('Legal basis').selectOption('contract');
    await page.getByLabel('Privacy notice version').fill('notice-2026-01');
    await checkPage('new person');
    await shot('03-person-new');
    await page.getByRole('button', { name: 'Add person' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    personId = /#\/people\/([^?]+)/.exec(page.url())![1]!;
    await page.getByText('Now upload a photo').waitFor();
    await checkPage('person');

    const upload = page.locator('#photo-input');
    await upload.setInputFiles({
      name: 'group.jpg',
      mimeType: 'image/jpeg',
      buffer: readFileSync(facePhotos[0]!),
    });
    await page.locator('.upload.refused').getByText('More than one face').waitFor();
    await upload.setInputFiles({
      name: 'tilted.jpg',
      mimeType: 'image/jpeg',
      buffer: await facePhoto(faces.tilted),
    });
    await page.locator('.upload.refused').getByText('The face is turned away').waitFor();
    await upload.setInputFiles({
      name: 'ada.jpg',
      mimeType: 'image/jpeg',
      buffer: await facePhoto(faces.straight),
    });
    const accepted = page.locator('.upload.ok');
    await accepted.getByText('Accepted').waitFor();
    const aligned = accepted.getByRole('img', { name: 'Aligned face from ada.jpg' });
    assert.match((await aligned.getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    assert.equal(await aligned.evaluate((img: { naturalWidth: number }) => img.naturalWidth), 112);
    await page.getByRole('cell', { name: 'faceplugin' }).first().waitFor();
    const detail = await api<{ templates: unknown[]; consents: Array<{ legalBasis: string }> }>(
      'GET',
      `/people/${personId}`,
    );
    assert.equal(detail.templates.length, 1);
    assert.equal(detail.consents[0]?.legalBasis, 'contract');
    // Results of the uploads push the page down as they arrive, as the user asked: not counted as jumps.
    await takeLayoutShift(page);
    assert.deepEqual(await unlabelledControls(page), []);
    await shot('04-person-enrolled');
  });

  test('an event signed by a device appears on Today without a reload', async () => {
    await go('#/today');
    await page.getByText('Nobody seen yet today').waitFor();
    await page.evaluate('window.sameDocument = true');
    await page.locator('.live-dot.live').waitFor({ state: 'attached' });
    const now = Date.now();
    const passes = [
      device.next({ personId, direction: 'in', camera: 'door-1', capturedAt: new Date(now).toISOString() }),
      device.next({
        kind: 'unknown',
        direction: 'in',
        camera: 'door-1',
        capturedAt: new Date(now + 500).toISOString(),
      }),
      device.next({
        personId,
        direction: 'out',
        camera: 'door-1',
        capturedAt: new Date(now + 1000).toISOString(),
      }),
      device.next({
        personId,
        direction: 'in',
        camera: 'door-1',
        capturedAt: new Date(now + 2000).toISOString(),
      }),
    ];
    device.send(passes[0]!);
    await device.waitForAcks([passes[0]!.id]);
    const feed = page.locator('ol.feed');
    await feed.getByText('Ada Lovelace').waitFor();
    await page.getByTestId(`in-now-${site.id}`).getByText('1', { exact: true }).waitFor();
    for (const envelope of passes.slice(1)) device.send(envelope);
    await device.waitForAcks(passes.map((p) => p.id));
    await feed.getByText('Unknown person').waitFor();
    await page.locator('ol.feed li').nth(3).waitFor();
    assert.equal(await page.locator('ol.feed li').count(), 4);
    assert.equal(await page.evaluate('window.sameDocument'), true, 'the page was not reloaded');
    sent.push(...passes.filter((p) => p.kind === 'attendance').map((p) => p.id));
    // Counts and who is in follow the feed.
    const ada = page.getByRole('row').filter({ hasText: 'Ada Lovelace' });
    await ada.getByRole('cell', { name: '3', exact: true }).waitFor();
    await ada.getByText('In', { exact: true }).waitFor();
    await page.locator('.tiles div').filter({ hasText: 'Unknown' }).getByText('1', { exact: true }).waitFor();
    await checkPage('today live');
    await shot('05-today-live');
  });

  test('attendance shows first in, last out and every pass, and exports CSV a spreadsheet reads', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: site.timeZone }).format(Date.now());
    await go(`#/attendance?site=${site.id}&from=${today}&to=${today}`);
    const row = page.getByRole('row').filter({ hasText: 'Ada Lovelace' });
    await row.waitFor();
    await row.getByRole('button', { name: /passes of Ada Lovelace/ }).click();
    await page.locator('ol.passes li').nth(2).waitFor();
    assert.deepEqual(
      (await page.locator('ol.passes li').allTextContents()).map((t) => t.split(' · ')[1]),
      ['in', 'out', 'in'],
    );
    await checkPage('attendance');
    await shot('06-attendance');

    const [days] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export days (CSV)' }).click(),
    ]);
    const dayBytes = readFileSync(await days.path());
    assert.deepEqual([...dayBytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
    const dayRows = parseCsv(dayBytes.subarray(3).toString('utf8'));
    assert.deepEqual(dayRows[0], [
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
    ]);
    assert.equal(dayRows.length, 2, 'one row per person per day');
    const [date, siteId, id, externalId, name, groups, firstIn, firstDoor, lastOut, lastDoor, count] =
      dayRows[1]!;
    assert.deepEqual(
      [date, siteId, id, externalId, name, groups, firstDoor, lastDoor, count],
      [today, site.id, personId, 'E-1001', 'Ada Lovelace', 'Day shift; Engineering', 'door-1', 'door-1', '3'],
    );
    assert.match(firstIn!, new RegExp(`^${today}T\\d{2}:\\d{2}:\\d{2}\\+0[12]:00$`));
    assert.ok(lastOut! > firstIn!, 'last out after first in');

    const [passes] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export passes (CSV)' }).click(),
    ]);
    const passRows = parseCsv(
      readFileSync(await passes.path())
        .subarray(3)
        .toString('utf8'),
    );
    assert.equal(
      passRows[0]?.join(','),
      'date,time,site,person_id,external_id,name,door,direction,device,similarity,liveness,event_id',
    );
    assert.deepEqual(
      passRows.slice(1).map((r) => [r[3], r[7], r[11]]),
      [
        [personId, 'in', sent[0]],
        [personId, 'out', sent[1]],
        [personId, 'in', sent[2]],
      ],
      'one row per pass, unknown faces left out',
    );
  });

  test('devices show status, camera health and chain alerts; a filled gap shows as resolved', async () => {
    // A device that skips a sequence number: the hub keeps the event and raises a gap alert.
    const missing = device.next({ kind: 'unknown' });
    const gap = device.next({ kind: 'unknown' });
    device.send(gap);
    await device.waitForAcks([gap.id]);
    await go('#/devices');
    await page.getByRole('row').filter({ hasText: 'cam-1' }).getByText('Online').waitFor();
    await page.locator('.alert-title').getByText('Events missing').waitFor();
    await page.locator('.cameras').getByText('door-1').waitFor();
    await checkPage('devices');
    await shot('07-devices');
    await page.getByRole('button', { name: /Acknowledge/ }).click();
    await page.getByText('No open alerts').waitFor();
    device.send(missing);
    await device.waitForAcks([missing.id]);
    await page.getByLabel('Show acknowledged and resolved alerts').check();
    await page.getByText(/Resolved .*: gap filled: the missing events arrived late/).waitFor();
  });

  test('the audit log lists every change and filters by action', async () => {
    await go('#/audit');
    await page.getByRole('cell', { name: 'person.create' }).waitFor();
    await page.getByLabel('Action').selectOption('person.enrol');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('cell', { name: 'person.create' }).first().waitFor({ state: 'detached' });
    assert.deepEqual(await page.locator('td[data-label="Action"]').allTextContents(), ['person.enrol']);
    await checkPage('audit');
    await shot('08-audit');
  });

  test('erasure is confirmed per device once each agent has applied it', async () => {
    await go(`#/people/${personId}`);
    await page.getByRole('button', { name: 'Erase Ada Lovelace…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase Ada Lovelace?' });
    const confirm = dialog.getByRole('button', { name: 'Erase permanently' });
    assert.equal(await confirm.isDisabled(), true, 'nothing is erased before the name is typed');
    await dialog.getByLabel(/Type the name/).fill('Ada Lovelace');
    await confirm.click();
    await page.getByText('Waiting for 1 of 1 device to confirm').waitFor();
    await page.getByRole('row').filter({ hasText: 'cam-1' }).getByText('Waiting').waitFor();
    await checkPage('erasure waiting');
    await shot('09-erasure-waiting');
    const detail = await api<{ templates: unknown[] }>('GET', `/people/${personId}`);
    assert.equal(detail.templates.length, 0);

    const { rosterSeq } = await api<{ rosterSeq: number }>('GET', `/sites/${site.id}`);
    publishStatus(rosterSeq);
    await page.getByText('Every device has confirmed the erasure').waitFor();
    await page.getByRole('row').filter({ hasText: 'cam-1' }).getByText('Confirmed').waitFor();
    await shot('10-erasure-confirmed');
  });

  test('an admin adds a viewer account for one site on the Users page', async () => {
    await go('#/users');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByLabel('User name').fill(viewer.username);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Head office').check();
    await checkPage('users');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByText(`User ${viewer.username} added.`).waitFor();
    const row = page.getByRole('row').filter({ hasText: viewer.username });
    await row.getByRole('cell', { name: 'Head office' }).waitFor();
    await shot('11-users');
    const { users } = await api<{
      users: Array<{ username: string; role: string; siteScope: string[] | null }>;
    }>('GET', '/users');
    assert.deepEqual(
      users.find((u) => u.username === viewer.username),
      { ...users.find((u) => u.username === viewer.username), role: 'viewer', siteScope: [site.id] },
    );
  });

  test('a viewer reads but reaches no admin action, in the page or through the API', async () => {
    await api('POST', '/people', {
      displayName: 'Grace Hopper',
      siteIds: [site.id],
      consent: { legalBasis: 'consent', noticeVersion: 'notice-2026-01' },
    });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill(viewer.username);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(`${viewer.username} (viewer)`).waitFor();
    const nav = page.getByRole('navigation', { name: 'Pages' });
    assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0);

    await go('#/people');
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    await page.getByText('The cameras do not recognise this person yet.').waitFor();
    for (const name of ['Upload photos', 'Edit', 'Record', 'Withdraw', /Erase/]) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${String(name)} button`);
    }
    assert.equal(await page.locator('#photo-input').count(), 0);
    await checkPage('viewer person');
    await shot('12-viewer-person');
    await go('#/people');
    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Add person' }).count(), 0);
    await go('#/devices');
    await page.getByRole('row').filter({ hasText: 'cam-1' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Revoke/ }).count(), 0);
    for (const hash of ['#/audit', '#/users']) {
      await go(hash);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    }

    // The viewer's own session (cookie and CSRF token of this browser) sent straight to the API.
    const cookie = (await browser.context.cookies(baseUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = await page.evaluate<string>(`localStorage.getItem('tp.csrf')`);
    const refused = [];
    for (const [method, url, body] of [
      ['POST', '/people', { displayName: 'Mallory' }],
      ['DELETE', `/people/${personId}`, undefined],
      ['POST', '/devices/cam-1/revoke', {}],
      ['GET', '/audit', undefined],
      ['GET', '/users', undefined],
    ] as const) {
      const response = await app.inject({
        method,
        url: `/api/v1${url}`,
        headers: { cookie, 'x-csrf-token': csrf },
        ...(body === undefined ? {} : { payload: body }),
      });
      refused.push(`${response.statusCode} ${response.json<{ code: string }>().code}`);
    }
    assert.deepEqual(refused, Array(5).fill('403 TP_HUB_AUTH_FORBIDDEN'));
  });

  test('on a phone the pages fit the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name] of [
      ['#/today', '13-phone-today'],
      ['#/attendance', '14-phone-attendance'],
      ['#/devices', '15-phone-devices'],
    ] as const) {
      await go(hash);
      await page.locator('main h1').waitFor();
      await page.locator('.loading').first().waitFor({ state: 'detached' });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
      await shot(name);
    }
    assert.deepEqual(browser.problems, []);
  });
});
