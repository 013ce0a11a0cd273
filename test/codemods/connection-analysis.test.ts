/** The call-graph analysis behind async-outside-connection / sync-in-async-context, and the roots `fix` will use. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectionGraph } from '../../src/codemods/engine/connection-graph.js';
import type { GraphFunction } from '../../src/codemods/engine/connection-graph.js';
import { scan } from '../../src/codemods/index.js';
import type { Finding, ScanResult } from '../../src/codemods/index.js';

const fixturesRoot = fileURLToPath(new URL('../../fixtures/rules/', import.meta.url));
const fixture = (path: string): string => join(fixturesRoot, 'async-outside-connection', path);

function rootNames(finding: Finding | undefined): (string | undefined)[] {
  assert.ok(finding, 'finding exists');
  return (finding.roots ?? []).map((root) => root.name ?? root.kind);
}

describe('connection graph (unit)', () => {
  const fn = (kind: GraphFunction['kind'], isAsync = true): GraphFunction => ({ kind, async: isAsync });

  it('a function is inside only when every caller is inside; recursion inside a block stays inside', () => {
    // 0 module, 1 block callback, 2 helper called from the block and itself, 3 helper called from block and module
    const graph = new ConnectionGraph([fn('module', false), fn('connection-callback'), fn('named'), fn('named')]);
    graph.addEdge(2, { owner: 1, via: 'call' });
    graph.addEdge(2, { owner: 2, via: 'call' });
    graph.addEdge(3, { owner: 1, via: 'call' });
    graph.addEdge(3, { owner: 0, via: 'call' });
    graph.solve();
    assert.deepEqual([0, 1, 2, 3].map((index) => graph.isInside(index)), [false, true, true, false]);
  });

  it('a cycle no block reaches is outside: self-recursion, mutual recursion, and what such a cycle calls', () => {
    // 0 module, 1 self-recursive, 2 ↔ 3 mutually recursive, 4 called by the block and by 1, 5 block callback
    const graph = new ConnectionGraph([fn('module', false), fn('named', false), fn('named', false), fn('named', false), fn('named', false), fn('connection-callback')]);
    graph.addEdge(1, { owner: 1, via: 'call' });
    graph.addEdge(2, { owner: 3, via: 'call' });
    graph.addEdge(3, { owner: 2, via: 'call' });
    graph.addEdge(4, { owner: 5, via: 'call' });
    graph.addEdge(4, { owner: 1, via: 'call' });
    graph.solve();
    assert.deepEqual([1, 2, 3, 4, 5].map((index) => graph.isInside(index)), [false, false, false, false, true]);
  });

  it('a function handed to a call that runs it later is outside and its own root, even from inside a block', () => {
    // 0 module, 1 block callback, 2 scheduled from the block, 3 called by 2
    const graph = new ConnectionGraph([fn('module', false), fn('connection-callback'), fn('inline'), fn('named')]);
    graph.addEdge(2, { owner: 1, via: 'scheduled' });
    graph.addEdge(3, { owner: 2, via: 'call' });
    graph.solve();
    assert.deepEqual([2, 3].map((index) => graph.isInside(index)), [false, false]);
    assert.deepEqual(graph.rootsOf(3), [2]);
  });

  it('a call chain 200,000 functions deep solves without overflowing the stack', () => {
    const count = 200_000;
    const graph = new ConnectionGraph([fn('connection-callback'), ...Array.from({ length: count }, () => fn('named', false))]);
    for (let index = 1; index <= count; index += 1) graph.addEdge(index, { owner: index - 1, via: 'call' });
    graph.addEdge(1, { owner: count, via: 'call' });
    graph.solve();
    assert.equal(graph.isInside(count), true);
  });

  it('a function nobody calls, or only a thread callback calls, is not inside', () => {
    const graph = new ConnectionGraph([fn('module', false), fn('named'), fn('thread-callback', false), fn('named')]);
    graph.addEdge(3, { owner: 2, via: 'call' });
    graph.solve();
    assert.equal(graph.isInside(1), false);
    assert.equal(graph.isInside(3), false);
  });

  it('a reference passed to the connection function counts as inside, even from the module', () => {
    const graph = new ConnectionGraph([fn('module', false), fn('named')]);
    graph.addEdge(1, { owner: 0, via: 'connection-entry' });
    graph.solve();
    assert.equal(graph.isInside(1), true);
  });

  it('roots climb through async callers and inline callbacks, stop at sync named callers and the module', () => {
    // 0 module; 1 async handler (called from module); 2 inline arrow in 1; 3 async helper called by 2;
    // 4 sync named function calling 5; 5 async helper
    const graph = new ConnectionGraph([fn('module', false), fn('named'), fn('inline', false), fn('named'), fn('named', false), fn('named')]);
    graph.addEdge(1, { owner: 0, via: 'call' });
    graph.addEdge(2, { owner: 1, via: 'call' });
    graph.addEdge(3, { owner: 2, via: 'call' });
    graph.addEdge(5, { owner: 4, via: 'call' });
    graph.solve();
    assert.deepEqual(graph.rootsOf(3), [1]);
    assert.deepEqual(graph.rootsOf(5), [5]);
    assert.deepEqual(graph.rootsOf(0), [0]);
  });

  it('roots of a cycle entered from outside are the entry, not an endless climb', () => {
    const graph = new ConnectionGraph([fn('module', false), fn('named'), fn('named'), fn('named')]);
    graph.addEdge(2, { owner: 3, via: 'call' });
    graph.addEdge(3, { owner: 2, via: 'call' });
    graph.addEdge(2, { owner: 1, via: 'call' });
    graph.solve();
    assert.deepEqual(graph.rootsOf(3), [1]);
  });
});

for (const types of [true, false]) {
  describe(`connection analysis on the fixtures (${types ? 'type-aware' : 'syntactic'})`, () => {
    let result: ScanResult;
    before(async () => {
      result = await scan({ cwd: fixturesRoot, paths: ['async-outside-connection', 'sync-in-async-context'], types });
    });

    const findingAt = (file: string, line: number): Finding | undefined =>
      result.findings.find((finding) => finding.file === fixture(file) && finding.line === line && finding.ruleId === 'async-outside-connection');

    it('roots: the handler for its own calls, the caller for a helper, the module for top-level await', () => {
      assert.deepEqual(rootNames(findingAt('handlers.ts', 6)), ['showQuestion']);
      assert.deepEqual(rootNames(findingAt('call-chain.ts', 11)), ['questionPage']);
      assert.deepEqual(rootNames(findingAt('call-chain.ts', 59)), ['many']);
      assert.deepEqual(rootNames(findingAt('top-level.ts', 4)), ['module']);
      assert.deepEqual(rootNames(findingAt('component.tsx', 12)), ['Page']);
      assert.deepEqual(rootNames(findingAt('transactions.ts', 7)), ['vote']);
    });

    it('roots carry what a rewrite needs: file, offsets, line and column, async', () => {
      const [root] = findingAt('handlers.ts', 6)?.roots ?? [];
      assert.ok(root);
      assert.equal(root.file, fixture('handlers.ts'));
      assert.equal(root.async, true);
      assert.equal(root.kind, 'named');
      assert.equal(root.line, 5);
      assert.equal(root.column, 1);
      assert.ok(root.end > root.start);
      assert.equal(root.id, `${root.file}#${root.start}`);
    });

    it('exposes every function with its verdict, and rootsOf by id', () => {
      const byName = (name: string) => result.connection.functions.filter((fn) => fn.file === fixture('call-chain.ts') && fn.name === name);
      assert.equal(byName('loadQuestion')[0]?.insideConnection, true);
      assert.equal(byName('countExisting')[0]?.insideConnection, true);
      assert.equal(byName('deepest')[0]?.insideConnection, true);
      assert.equal(byName('report')[0]?.insideConnection, true);
      assert.equal(byName('countChoices')[0]?.insideConnection, false);
      assert.equal(byName('unusedExport')[0]?.insideConnection, false);
      const countChoices = byName('countChoices')[0];
      assert.ok(countChoices);
      assert.deepEqual(result.connection.rootsOf(countChoices.id).map((root) => root.name), ['questionPage']);
      assert.deepEqual(result.connection.rootsOf('no such id'), []);
    });
  });
}
