// Runs every *.test.ts file of the workspaces and test/ under node:test (Node 20's --test takes no globs).
// Extra arguments narrow the run to files whose path contains one of them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const roots = ['protocol', 'model-pack', 'edge-agent', 'cloud-hub', 'provisioning', 'test'];
const skipDirs = new Set(['node_modules', 'dist', '.cache']);

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skipDirs.has(entry.name) ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((dir) => findTests(join(root, dir)))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('TP_TEST_NONE: no test files matched');
  process.exit(1);
}
const tapDir = mkdtempSync(join(tmpdir(), 'tp-tests-'));
const tapFile = join(tapDir, 'report.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A hung test fails after five minutes instead of holding CI until its own limit.
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
// A plain closing line that any CI reader understands, taken from the TAP summary.
const tap = readFileSync(tapFile, 'utf8');
const count = (name: string) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
rmSync(tapDir, { recursive: true, force: true });
console.log(`${count('pass')} passed, ${count('fail')} failed, ${count('skipped') + count('todo')} skipped`);
process.exit(result.status ?? 1);
