// The one-command demo, end to end through its entry point: hub and agent child processes, a site and
// device provisioned over the admin API, people enrolled from real photos, a walk-by clip made with ffmpeg
// and analysed by the agent. The first attendance reaches the hub and shows on Today in Chromium; SIGINT
// stops everything and the demo exits 0 with no process left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { demoPaths } from '../../provisioning/src/demo/demo.ts';
import { freePort } from '../helpers/ports.ts';
import { stopProcess, track } from '../helpers/processes.ts';
import { waitUntil } from '../helpers/wait.ts';
import { type Browser, launchBrowser } from '../web/browser.ts';

const root = join(import.meta.dirname, '..', '..');

interface HubEvent {
  kind: string;
  personId: string | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start: the one-command demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-demo-'));
  const paths = demoPaths(dir);
  let demo: ReturnType<typeof spawn>;
  let output = '';
  let exit: Promise<number | null>;
  let httpPort: number;
  let browser: Browser | undefined;
  let firstAttendance: HubEvent;

  const api = async <T>(path: string): Promise<T> => {
    const token = readFileSync(paths.adminToken, 'utf8').trim();
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  };

  before(async () => {
    httpPort = await freePort();
    const mqttPort = await freePort();
    const started = Date.now();
    demo = track(
      spawn(
        process.execPath,
        [
          ...['--import', 'tsx', 'provisioning/src/demo/main.ts'],
          ...['--data', dir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort)],
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    demo.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    demo.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    exit = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
    let exited = false;
    void exit.then(() => {
      exited = true;
    });
    await waitUntil(() => /agent running/.test(output) || exited, 'the agent running', 240_000);
    assert.ok(!exited, output);
    let events: HubEvent[] = [];
    const deadline = Date.now() + 120_000;
    while (events.length === 0) {
      assert.ok(Date.now() < deadline, `no attendance within 120 s of the agent start\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      ({ events } = await api<{ events: HubEvent[] }>('/api/v1/events?kind=attendance&order=asc'));
    }
    firstAttendance = events[0]!;
    console.log(
      `demo: first attendance event at the hub ${((Date.now() - started) / 1000).toFixed(1)} s after start`,
    );
  });

  after(async () => {
    await browser?.close();
    await stopProcess(demo, 'SIGINT', 60_000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('progress lines while the clip is made and the models load, and the one-time admin login', () => {
    for (const line of [
      'making the walk-by clip',
      'walk-by clip ready',
      'hub ready',
      'site "demo" provisioned',
      'device "door-1" provisioned',
      'enrolled Ann Walker',
      'starting the agent (loading its face models)',
      '[agent] face models loaded',
    ]) {
      assert.ok(output.includes(line), `"${line}" in\n${output}`);
    }
    assert.match(output, /First start: log in as "admin" with password \S{16,}/);
  });

  test('the first attendance names an enrolled demo person and shows on Today in Chromium', async () => {
    assert.equal(firstAttendance.kind, 'attendance');
    const person = await api<{ displayName: string; externalId: string }>(
      `/api/v1/people/${firstAttendance.personId}`,
    );
    assert.match(person.externalId, /^demo-(ann|bea|cat)$/, 'a walker, never the printed photo of Dee');
    const password = /with password (\S+)/.exec(output)![1]!;
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Today', level: 1 }).waitFor();
    await page.locator('ol.feed').getByText(person.displayName).first().waitFor();
    assert.deepEqual(browser.problems, []);
  });

  test('SIGINT stops the agent, then the hub, and exits 0 leaving no process behind', async () => {
    const pids = [...output.matchAll(/(hub|agent) started \(pid (\d+)\)/g)].map((m) => Number(m[2]));
    assert.equal(pids.length, 2, output);
    assert.ok(pids.every(alive));
    demo.kill('SIGINT');
    assert.equal(await exit, 0, output);
    assert.ok(output.indexOf('stopping the agent') < output.indexOf('stopping the hub'), output);
    assert.ok(output.includes('[agent] agent stopped'), output);
    assert.deepEqual(pids.filter(alive), [], 'hub and agent are gone');
  });
});
