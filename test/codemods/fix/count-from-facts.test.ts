/**
 * scan's fixable count plans as fix does, from what the scan's walk recorded (issue 11: the count
 * used to parse every file holding a root a second time). Two checks:
 * - the count reads no file for function roots: planned again after the project is deleted, it
 *   is the same set (a planner that read a file would fail on it and count less);
 * - what the walk records per function (constructor/accessor, generator, `arguments`, dropped
 *   promises) says what fix's tree-based checks say, on every fix fixture.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../src/codemods/engine/config.js';
import { settleConnectionModule } from '../../../src/codemods/engine/connection-module.js';
import { scan } from '../../../src/codemods/engine/scan.js';
import { parseSource } from '../../../src/codemods/engine/syntactic.js';
import type { ConnectionFunctionSummary, ScanResult } from '../../../src/codemods/engine/types.js';
import { floatingWork } from '../../../src/codemods/fix/floating.js';
import { functionAt } from '../../../src/codemods/fix/functions.js';
import { planFix, rewrittenFindings } from '../../../src/codemods/fix/index.js';
import { unwrappableReason, wrapProblem } from '../../../src/codemods/fix/wrap.js';
import { isFunctionWithBody } from '../../../src/codemods/engine/file-analysis.js';
import { createTypedProject } from '../../support/temp-project.js';
import { createFixtureProject } from './fixtures.js';

const ROOTS = `import { Question } from '../models.js';

export async function plain(id: number) {
  return Question.objects.aget({ pk: id });
}

export async function legacyArguments(id: number) {
  const extra = arguments.length > 1;
  return extra ? null : Question.objects.aget({ pk: id });
}

export const arrowInside = async function (id: number) {
  const read = () => arguments[0];
  return read() ? Question.objects.aget({ pk: id }) : null;
};

export async function* stream() {
  for await (const question of Question.objects.all()) yield question.questionText;
}

export function notAsync() {
  return Question.objects.acount();
}

export class Service {
  constructor() {
    void Question.objects.acount();
  }
  async ok(id: number) {
    return Question.objects.aget({ pk: id });
  }
}

async function recordVisit(id: number) {
  await Question.objects.filter({ pk: id }).aupdate({ questionText: 'visited' });
}

export async function visit(id: number) {
  void recordVisit(id);
  return Question.objects.aget({ pk: id });
}

export async function touchAll(ids: number[]) {
  ids.forEach(async (id) => {
    await Question.objects.filter({ pk: id }).aupdate({ questionText: 'touched' });
  });
  return Question.objects.acount();
}

export async function nestedFloating(ids: number[]) {
  const later = () => {
    recordVisit(ids[0] ?? 0);
  };
  later();
  return Question.objects.acount();
}
`;

/** Sync calls and loops inside blocks, and thread wrappers: rewritten in place, or left manual. */
const IN_PLACE = `import { atomic, newConnection, syncToAsync } from 'orm-migrate/runtime';
import { Question } from '../models.js';

function countQuestions(): number {
  return 1;
}

export async function inBlock(): Promise<number> {
  return newConnection(async () => {
    let total = Question.objects.count();
    for (const question of Question.objects.all()) total += question.id;
    total += atomic(() => Question.objects.count());
    const counts = [1, 2].map(() => Question.objects.count());
    counts.push(atomic(countQuestions));
    const late = (n = Question.objects.count()) => n;
    return total + counts.length + late();
  });
}

export async function wrappers(id: number) {
  return newConnection(async () => {
    const question = await syncToAsync(() => Question.objects.get({ pk: id }))();
    const many = await syncToAsync(async () => Question.objects.count())();
    return question.questionText + String(many);
  });
}

export function wrapperOutside(): Promise<number> {
  return syncToAsync(() => Question.objects.count())();
}
`;

async function scanAsCli(cwd: string, types: boolean): Promise<{ result: ScanResult; config: ReturnType<typeof loadConfig> }> {
  const config = settleConnectionModule(loadConfig(cwd, undefined, ['.']));
  const result = await scan({ cwd, paths: ['.'], config, types, ruleOverrides: { 'floating-async-call': 'warn' } });
  return { result, config };
}

describe("scan's fixable count from the walk's facts", () => {
  for (const types of [true, false]) {
    it(`reads no file to check function roots (${types ? 'type-aware' : '--no-types'})`, async () => {
      const project = createTypedProject({ 'src/roots.ts': ROOTS, 'src/in-place.ts': IN_PLACE });
      let scanned: Awaited<ReturnType<typeof scanAsCli>>;
      let present: Set<unknown>;
      try {
        scanned = await scanAsCli(project.dir, types);
        present = rewrittenFindings(scanned.result, scanned.config);
      } finally {
        project.remove();
      }
      const { findings } = scanned.result;
      const rewritten = (set: Set<unknown>): string[] =>
        findings.filter((finding) => set.has(finding)).map((finding) => `${finding.file.endsWith('roots.ts') ? 'roots' : 'in-place'}:${finding.line} ${finding.ruleId}`);
      // roots: plain, Service#ok and nestedFloating (the promise it drops is its sync helper's) are wrapped; the rest stay manual.
      // in-place: the count, the loop, atomic(() => …) and the count in its callback (made async), the simple wrapper in
      // the block and the one outside (a block of its own); not the calls in a sync callback or a parameter default,
      // atomic(countQuestions) or the wrapper of an async callback.
      assert.deepEqual(rewritten(present), [
        'in-place:10 sync-in-async-context',
        'in-place:11 sync-in-async-context',
        'in-place:12 sync-in-async-context',
        'in-place:12 sync-in-async-context',
        'in-place:22 sync-to-async-wrapper',
        'in-place:29 sync-to-async-wrapper',
        'roots:4 async-outside-connection',
        'roots:30 async-outside-connection',
        'roots:55 async-outside-connection',
      ]);
      assert.deepEqual(rewritten(rewrittenFindings(scanned.result, scanned.config)), rewritten(present), 'the same without the files');
    });
  }

  it('looks at the sync calls a wrap reaches by the name they are imported as, renamed or not', async () => {
    // Wrapping `show` would run `tx()` (atomic, renamed) inside the block, in a sync helper that cannot await it.
    const project = createTypedProject({
      'src/renamed.ts': `import { atomic as tx } from 'orm-migrate/runtime';
import { Question } from '../models.js';

function inTransaction(): number {
  return tx(() => 1);
}

export async function show(id: number) {
  const question = await Question.objects.aget({ pk: id });
  return question.id + inTransaction();
}
`,
    });
    try {
      const plan = await planFix({ cwd: project.dir });
      assert.deepEqual(plan.files, []);
      assert.equal(plan.manual.length, 1);
      assert.match(plan.manual[0]?.reason ?? '', /wrapping it would run `tx\(\)` \(src\/renamed\.ts:5\) inside the block/);
      const scanned = await scanAsCli(project.dir, false);
      assert.equal(rewrittenFindings(scanned.result, scanned.config).size, 0, 'and scan does not count it');
    } finally {
      project.remove();
    }
  });

  it("records what fix's tree-based checks find, for every function of the fix fixtures", async () => {
    const project = createFixtureProject();
    try {
      const { result } = await scanAsCli(project.dir, false);
      const byFile = new Map<string, ConnectionFunctionSummary[]>();
      for (const summary of result.connection.functions) byFile.set(summary.file, [...(byFile.get(summary.file) ?? []), summary]);
      let checked = 0;
      let problems = 0;
      let floating = 0;
      for (const [file, summaries] of byFile) {
        const raw = readFileSync(file, 'utf8');
        // Scan's offsets count a byte order mark; the tree here does not.
        const delta = raw.startsWith('\uFEFF') ? 1 : 0;
        const sourceFile = parseSource(file, raw.slice(delta));
        for (const summary of summaries) {
          if (summary.kind === 'module') continue;
          const where = `${file.slice(project.dir.length + 1)}:${summary.line}`;
          const node = functionAt(sourceFile, summary.start - delta);
          assert.ok(node && isFunctionWithBody(node), `${where}: no function at the scan's offset`);
          assert.ok(summary.wrap, `${where}: no wrap facts`);
          const expected = unwrappableReason(node, sourceFile);
          assert.equal(wrapProblem({ ...summary.wrap, async: summary.async }), expected, where);
          const fromTree = floatingWork(node.body, sourceFile).map((item) => `${item.kind} ${item.name} ${item.callbackStart < 0 ? -1 : item.callbackStart + delta} ${sourceFile.getLineAndCharacterOfPosition(item.start).line + 1}`);
          const fromWalk = summaries
            .filter((inner) => inner.kind !== 'module' && inner.start >= summary.start && inner.end <= summary.end)
            .flatMap((inner) => inner.wrap?.floating ?? [])
            .filter((item) => item.start >= (summary.wrap?.bodyStart ?? 0))
            .sort((a, b) => a.start - b.start)
            .map((item) => `${item.kind} ${item.name} ${item.callbackStart} ${item.line}`);
          assert.deepEqual(fromWalk, fromTree, where);
          checked += 1;
          if (expected) problems += 1;
          floating += fromTree.length;
        }
      }
      // The fixtures hold every kind of case (not a vacuous pass).
      assert.ok(checked > 50 && problems >= 5 && floating >= 5, `${checked} functions, ${problems} unwrappable, ${floating} floating`);
    } finally {
      project.remove();
    }
  });
});
