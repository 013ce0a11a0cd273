/**
 * The mikro-orm fix's decisions and ts-morph edits on hand-written roots (what scan reports under
 * the preset, written out here): each fixture input must come out as its `.output` file, with
 * the expected manual items. The scan-driven run is test/cli/fix-mikro-orm.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';
import type { Finding, FunctionRef, ScanResult } from '../../../src/codemods/engine/types.js';
import { planMikroOrmFix } from '../../../src/codemods/fix/mikro-orm/index.js';
import type { TempProject } from '../../support/temp-project.js';
import { createMikroOrmProject, mikroOrmFixtures, mikroOrmManualExpectations } from './mikro-orm-fixtures.js';

/** Per fixture: the roots scan reports, by name (`setInterval()`: the function passed to that call; `<module>`: top level). */
const ROOTS: Record<string, string[]> = {
  'class-em/cleanup-service.ts': ['removeInactive', 'welcome', 'setInterval()'],
  'commonjs/worker.cjs': ['drain'],
  'class-orm/jobs.ts': ['renameAll'],
  'class-repository/mail-processor.ts': ['handle'],
  'class-db/reports.ts': ['usersNamed', 'track', 'countWith'],
  'function-param/cleanup.ts': ['deleteUser', 'countUsers'],
  'interval/poller.ts': ['setInterval()', 'setTimeout()'],
  'script-main/seed.ts': ['main'],
  'script-top-level/report.ts': ['<module>'],
  'manual/totals.ts': ['<module>'],
  'manual/nightly.ts': ['nightly'],
  'accessor/reminders.ts': ['remindAll'],
  'styles/tabs-crlf-bom.ts': ['send', 'flush', 'tick'],
  'inherited/orders.ts': ['onPaid'],
  'no-decorators/billing.ts': ['charge', 'refund', 'size'],
  'decoys/shadowed.ts': ['describeOrm', 'setTimeout()'],
  'decoys/notify.ts': ['notifyAll'],
  'decoys/sync.ts': ['syncUsers', 'countShared'],
  'manual/also-inside.ts': ['countUsers'],
};

/** Roots that scan's call graph also reaches from inside a context: the line of that caller (an inline callback). */
const INSIDE_CALLERS: Record<string, { root: string; line: number }> = {
  'manual/also-inside.ts': { root: 'countUsers', line: 16 },
};

function nameOf(node: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name && ts.isIdentifier(node.name)) return node.name.text;
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)) return node.parent.name.text;
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isCallExpression(node.parent) && ts.isIdentifier(node.parent.expression)) return `${node.parent.expression.text}()`;
  return undefined;
}

function rootRefs(file: string, text: string, names: readonly string[]): FunctionRef[] {
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const refs: FunctionRef[] = [];
  const visit = (node: ts.Node): void => {
    const name = ts.isFunctionLike(node) ? nameOf(node) : undefined;
    if (name && names.includes(name)) {
      const start = node.getStart(sourceFile);
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(start);
      const async = ts.getModifiers(node as ts.FunctionLikeDeclaration)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
      refs.push({ id: `${file}#${start}`, file, name, kind: name.endsWith('()') ? 'inline' : 'named', async, line: line + 1, column: character + 1, start, end: node.end });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  if (names.includes('<module>')) refs.push({ id: `${file}#0`, file, name: undefined, kind: 'module', async: true, line: 1, column: 1, start: 0, end: text.length });
  assert.equal(refs.length, names.length, `${file}: roots ${names.join(', ')} not all found`);
  return refs;
}

/** A finding at the function's first `em.` call (where scan would report it). */
function finding(ref: FunctionRef, text: string): Finding {
  const call = text.slice(ref.start, ref.end).search(/\bem\.\w+\(/);
  const start = call === -1 ? ref.end - 1 : ref.start + call;
  return {
    ruleId: 'async-outside-connection', severity: 'warning', messageId: 'outside', message: '', file: ref.file,
    line: ref.line, column: ref.column, endLine: ref.line, endColumn: ref.column, start, end: start + 1,
    fixable: true, data: { callee: 'em.find' }, roots: [ref],
  };
}

describe('mikro-orm fix: decisions and ts-morph edits on hand-written roots', function () {
  this.timeout(60_000);
  const fixtures = mikroOrmFixtures();
  let project: TempProject;
  before(() => {
    project = createMikroOrmProject(fixtures);
  });
  after(() => project.remove());

  it('rewrites each fixture as its .output file (or leaves it as it is)', async () => {
    const findings: Finding[] = [];
    const insideCallers = new Map<string, FunctionRef>();
    for (const fixture of fixtures) {
      const names = ROOTS[fixture.path];
      if (!names) continue;
      const file = project.path(fixture.path);
      const text = readFileSync(file, 'utf8');
      const refs = rootRefs(file, text, names);
      findings.push(...refs.map((ref) => finding(ref, text)));
      const inside = INSIDE_CALLERS[fixture.path];
      const root = inside && refs.find((ref) => ref.name === inside.root);
      if (inside && root) insideCallers.set(root.id, { id: `${file}#caller`, file, name: undefined, kind: 'inline', async: true, line: inside.line, column: 1, start: 0, end: 0 });
    }
    const connection = { functions: [], rootsOf: () => [], insideCallerOf: (id: string) => insideCallers.get(id) };
    const result = { cwd: project.dir, findings, files: fixtures.map((f) => project.path(f.path)), mode: 'type-aware', notes: [], problems: [], connection } as unknown as ScanResult;
    const plan = await planMikroOrmFix(result, new Set(['async-outside-connection']), performance.now());
    assert.deepEqual(plan.errors, []);
    for (const fixture of fixtures) {
      const fixed = plan.files.find((file) => file.file === project.path(fixture.path))?.fixed;
      if (process.env.UPDATE_FIX_FIXTURES === '1') {
        if (fixed === undefined) rmSync(fixture.outputFile, { force: true });
        else writeFileSync(fixture.outputFile, fixed);
        continue;
      }
      assert.equal(fixed ?? fixture.input, fixture.expected ?? fixture.input, fixture.path);
    }
    const manual = plan.manual.map((item) => `${relative(project.dir, item.file)}:${item.line}`).sort();
    assert.deepEqual(manual, mikroOrmManualExpectations().map((entry) => `${entry.path}:${entry.line}`).sort());
    for (const entry of mikroOrmManualExpectations()) {
      const item = plan.manual.find((candidate) => relative(project.dir, candidate.file) === entry.path && candidate.line === entry.line);
      assert.ok(item?.reason.includes(entry.reason), `${entry.path}:${entry.line}: "${item?.reason}" does not mention "${entry.reason}"`);
    }
  });
});
