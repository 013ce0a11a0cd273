/**
 * Fixture pairs for `orm-migrate fix` (fixtures/fix): every input fixed in one temp project must
 * come out as its `.output` file (or unchanged), leave exactly the expected manual items, fix
 * nothing more the second time, type-check, and leave scan no fixable finding.
 * UPDATE_FIX_FIXTURES=1 rewrites the `.output` files from what fix writes (review the diff).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { FIXABLE_RULE_IDS, planFix, scan } from '../../../src/codemods/index.js';
import type { FixPlan, ManualItem } from '../../../src/codemods/index.js';
import type { TempProject } from '../../support/temp-project.js';
import { createFixtureProject, fixFixtures, manualExpectations } from './fixtures.js';

const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const update = process.env.UPDATE_FIX_FIXTURES === '1';

function describeManual(project: TempProject, items: readonly ManualItem[]): string[] {
  return items.map((item) => `${relative(project.dir, item.file)}:${item.line}`).sort();
}

describe('orm-migrate fix: fixture pairs (fixtures/fix)', function () {
  this.timeout(60_000);
  const fixtures = fixFixtures();
  let project: TempProject;
  let plan: FixPlan;

  before(async () => {
    project = createFixtureProject(fixtures);
    plan = await planFix({ cwd: project.dir });
    for (const file of plan.files) writeFileSync(file.file, file.fixed);
    if (update) {
      for (const fixture of fixtures) {
        const fixed = project.read(fixture.path);
        if (fixed === fixture.input) rmSync(fixture.outputFile, { force: true });
        else writeFileSync(fixture.outputFile, fixed);
      }
    }
  });
  after(() => project.remove());

  it('runs type-aware and fixes every file without an error', () => {
    assert.equal(plan.mode, 'type-aware');
    assert.deepEqual(plan.errors, []);
    assert.ok(plan.files.length >= 15, `only ${plan.files.length} files changed`);
  });

  for (const fixture of fixtures) {
    it(`${fixture.path}: ${fixture.expected === undefined ? 'stays byte for byte unchanged' : 'comes out as its .output file'}`, () => {
      assert.equal(project.read(fixture.path), fixture.expected ?? fixture.input);
    });
  }

  it('covers classes, arrows, default exports, early returns, overloads, decorators, TSX, CommonJS, nested helpers, CRLF + BOM, top-level await', () => {
    const cases = new Set(fixtures.map((fixture) => fixture.caseName));
    for (const wanted of ['class-methods', 'arrow-functions', 'export-default', 'early-returns', 'overloads', 'decorators', 'tsx', 'commonjs', 'nested-helpers', 'crlf-bom', 'top-level', 'sync-in-async', 'wrappers', 'manual']) {
      assert.ok(cases.has(wanted), `no fixture case ${wanted}`);
    }
    assert.ok(fixtures.some((fixture) => fixture.expected === undefined), 'a fixture without output (must stay unchanged)');
    const bom = fixtures.find((fixture) => fixture.caseName === 'crlf-bom');
    assert.ok(bom?.input.startsWith('\uFEFF') && bom.input.includes('\r\n') && bom.expected?.startsWith('\uFEFF') && !/[^\r]\n/.test(bom.expected));
  });

  it('leaves exactly the expected manual items, each with its reason', () => {
    const expected = manualExpectations();
    assert.deepEqual(describeManual(project, plan.manual), expected.map((entry) => `${entry.path}:${entry.line}`).sort());
    for (const entry of expected) {
      const item = plan.manual.find((candidate) => relative(project.dir, candidate.file) === entry.path && candidate.line === entry.line);
      assert.ok(item?.reason.includes(entry.reason), `${entry.path}:${entry.line}: "${item?.reason}" does not mention "${entry.reason}"`);
    }
  });

  it('is idempotent: fixing the fixed files again changes nothing', async () => {
    const again = await planFix({ cwd: project.dir });
    assert.deepEqual(again.files.map((file) => relative(project.dir, file.file)), []);
    assert.deepEqual(describeManual(project, again.manual), describeManual(project, plan.manual));
  });

  it('scan on the fixed code reports no fixable finding (apart from what is left as manual)', async () => {
    const result = await scan({ cwd: project.dir });
    const manual = new Set(plan.manual.map((item) => `${item.file}:${item.line}`));
    const leftover = result.findings.filter((finding) => {
      if (!(FIXABLE_RULE_IDS as readonly string[]).includes(finding.ruleId)) return false;
      if (manual.has(`${finding.file}:${finding.line}`)) return false;
      return !(finding.roots ?? []).some((root) => manual.has(`${root.file}:${root.line}`));
    });
    assert.deepEqual(leftover.map((finding) => `${relative(project.dir, finding.file)}:${finding.line} ${finding.ruleId}`), []);
  });

  it('the fixed project type-checks (tsc --noEmit)', () => {
    const run = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', project.dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('without types (--no-types) the rewrites are the same', async () => {
    const untyped = createFixtureProject(fixtures);
    try {
      const syntactic = await planFix({ cwd: untyped.dir, types: false });
      assert.equal(syntactic.mode, 'syntactic');
      for (const file of syntactic.files) writeFileSync(file.file, file.fixed);
      for (const fixture of fixtures) assert.equal(untyped.read(fixture.path), project.read(fixture.path), fixture.path);
    } finally {
      untyped.remove();
    }
  });
});
