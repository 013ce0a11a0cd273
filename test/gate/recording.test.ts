import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A child process that makes `calls` deprecated async calls from two call sites. */
function legacyProcess(dir: string, warningsFile: string, calls: number, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const script = [
    "import { configure, defineModel, fields, migrate, closeAllConnections } from 'orm-migrate/runtime';",
    `configure({ databases: { default: { engine: 'sqlite', name: ${JSON.stringify(join(dir, `db-${Math.random()}.sqlite3`))} } } });`,
    "const Q = defineModel('Q', { table: 'q', fields: { id: fields.autoId(), n: fields.integer() } });",
    'migrate();',
    `for (let i = 0; i < ${calls}; i++) {`,
    '  await Q.objects.acount();',
    '  await Q.objects.filter({ n: i }).aexists();',
    '}',
    'await closeAllConnections();',
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, ORM_MIGRATE_WARNINGS_FILE: warningsFile, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('ORM_MIGRATE_WARNINGS_FILE recording', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-rec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records every emission, deduplicated printing or not, with site, method, model and pid', async () => {
    const file = join(dir, 'warnings.jsonl');
    const run = await legacyProcess(dir, file, 5, { NODE_OPTIONS: '--no-warnings' });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /PendingDeprecationWarning/, 'printing silenced by --no-warnings');
    const records = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(records.length, 10, 'every call is recorded although only 2 warnings would print');
    const sites = new Set(records.map((r) => r.site));
    assert.equal(sites.size, 2);
    for (const record of records) {
      assert.equal(record.code, 'ORM_ASYNC_NO_CONNECTION');
      assert.equal(record.model, 'Q');
      assert.match(String(record.method), /^(acount|aexists)$/);
      assert.equal(typeof record.pid, 'number');
      assert.equal(record.test, undefined, 'no mocha plugin, no test title');
    }
  });

  it('many processes appending at once never corrupt the file', async () => {
    const file = join(dir, 'warnings.jsonl');
    const runs = await Promise.all(Array.from({ length: 4 }, () => legacyProcess(dir, file, 150, { ORM_MIGRATE_WARNINGS: 'ignore' })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 4 * 150 * 2);
    const pids = new Set(lines.map((line) => (JSON.parse(line) as { pid: number }).pid));
    assert.equal(pids.size, 4);
  });
});
