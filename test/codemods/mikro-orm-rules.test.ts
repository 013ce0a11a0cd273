/**
 * Rule fixtures for the MikroORM preset (issue 13): every file under fixtures/rules-mikro-orm is
 * scanned once per mode with that directory's orm-migrate.config.json (`"preset": "mikro-orm"`)
 * and must report exactly what its `// expect:` markers say (a file without markers: nothing).
 * What the markers claim about MikroORM itself is checked in mikro-orm-ground-truth.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scan } from '../../src/codemods/index.js';
import type { AnalysisMode, Finding, ScanResult } from '../../src/codemods/index.js';
import { describeFindings, expectedFindings, hasMarkers } from '../support/expectations.js';

const fixturesRoot = fileURLToPath(new URL('../../fixtures/rules-mikro-orm/', import.meta.url));
const RULES = ['async-outside-connection', 'allow-async-unsafe'] as const;

function fixtureFiles(directory: string): string[] {
  return readdirSync(directory)
    .flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? fixtureFiles(path) : name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

const files = RULES.flatMap((rule) => fixtureFiles(join(fixturesRoot, rule)));

/** `file:line` of the finding's call → the names of its roots (`line <n>` for an anonymous one). */
function rootsOf(result: ScanResult, file: string, line: number): string[] {
  const finding = result.findings.find((candidate: Finding) => candidate.file === join(fixturesRoot, file) && candidate.line === line);
  assert.ok(finding, `no finding at ${file}:${line}`);
  return (finding.roots ?? []).map((root) => `${basename(root.file)}:${root.name ?? `line ${root.line}`}`).sort();
}

/** The 1-based line of the first line of `file` containing `text`. */
function lineOf(file: string, text: string): number {
  const index = readFileSync(join(fixturesRoot, file), 'utf8').split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${file} has no line with ${text}`);
  return index + 1;
}

for (const mode of ['type-aware', 'syntactic'] as const satisfies readonly AnalysisMode[]) {
  describe(`mikro-orm rule fixtures (${mode})`, () => {
    let result: ScanResult;
    before(async () => {
      result = await scan({ cwd: fixturesRoot, paths: [...RULES], types: mode === 'type-aware' });
    });

    it(`runs in ${mode} mode with no input problems`, () => {
      assert.equal(result.mode, mode, result.notes.join('\n'));
      assert.deepEqual(result.findings.filter((finding) => !(RULES as readonly string[]).includes(finding.ruleId)).map((finding) => `${relative(fixturesRoot, finding.file)}:${finding.line} ${finding.ruleId}`), []);
    });

    for (const file of files) {
      it(relative(fixturesRoot, file), () => {
        assert.deepEqual(describeFindings(result.findings, file), expectedFindings(file, mode));
      });
    }

    describe('roots: the outermost functions to wrap', () => {
      it('a helper reached from a controller route and from a cron job: the job, not the route', () => {
        assert.deepEqual(rootsOf(result, 'async-outside-connection/shared-helper.ts', lineOf('async-outside-connection/shared-helper.ts', 'em.findOneOrFail(User, id)')), ['shared-helper.ts:digest']);
      });

      it('service methods reached through `this.accounts.…` from a cron job: the job', () => {
        for (const text of ['this.users.findOne({ email })', 'this.em.getReference(User, id)', 'this.orm.em.count(Post)', 'posts.find({}, { limit: 10']) {
          assert.deepEqual(rootsOf(result, 'async-outside-connection/services.ts', lineOf('async-outside-connection/services.ts', text)), ['services.ts:hourly'], text);
        }
      });

      it('decorated entry points are their own roots', () => {
        const at = (file: string, text: string) => rootsOf(result, `async-outside-connection/${file}`, lineOf(`async-outside-connection/${file}`, text));
        assert.deepEqual(at('scheduled.ts', 'this.em.count(Post)'), ['scheduled.ts:countPosts']);
        assert.deepEqual(at('queue-consumer.ts', 'findOneOrFail(User, job.data.userId)'), ['queue-consumer.ts:welcome']);
        assert.deepEqual(at('gateway.ts', 'this.em.find(Post'), ['gateway.ts:history']);
        assert.deepEqual(at('event-listener.ts', 'this.users.findOneOrFail'), ['event-listener.ts:greet']);
      });

      it("a script's main, and a timer's or listener's callback (not the function that registers it)", () => {
        const at = (file: string, text: string) => rootsOf(result, `async-outside-connection/${file}`, lineOf(`async-outside-connection/${file}`, text));
        assert.deepEqual(at('script.ts', "email: { $like: '%@old.example.com' }"), ['script.ts:main']);
        const interval = lineOf('async-outside-connection/timers.ts', 'setInterval(async () => {');
        assert.deepEqual(at('timers.ts', 'orm.em.count(User, { active: true })'), [`timers.ts:line ${interval}`]);
        const listener = lineOf('async-outside-connection/timers.ts', "signups.on('login'");
        assert.deepEqual(at('timers.ts', 'orm.em.findOne(User, id)'), [`timers.ts:line ${listener}`]);
      });

      it('a helper called with a fork by one job and with the global EntityManager by another: the second job only', () => {
        assert.deepEqual(rootsOf(result, 'async-outside-connection/forked-argument.ts', lineOf('async-outside-connection/forked-argument.ts', 'return em.count(Post)')), ['forked-argument.ts:stats']);
      });

      it('a Nest lifecycle hook and microservice handlers are their own roots', () => {
        const at = (text: string) => rootsOf(result, 'async-outside-connection/lifecycle.ts', lineOf('async-outside-connection/lifecycle.ts', text));
        assert.deepEqual(at('this.em.count(User)'), ['lifecycle.ts:onModuleInit']);
        assert.deepEqual(at('this.em.findOne(User, id)'), ['lifecycle.ts:find']);
      });

      it('a route of a router mounted on an app without the middleware: the handler', () => {
        const file = 'async-outside-connection/express-routers/admin.router.ts';
        const handler = lineOf(file, "router.get('/inactive'");
        assert.deepEqual(rootsOf(result, file, handler + 1), [`admin.router.ts:line ${handler}`]);
      });

      it('a controller handler called directly by a test: the test callback, not the handler', () => {
        const file = 'async-outside-connection/controller-direct-call.ts';
        assert.deepEqual(rootsOf(result, file, lineOf(file, 'this.em.count(User)')), [`controller-direct-call.ts:line ${lineOf(file, "it('summarises the users'")}`]);
      });

      it('a named route handler also called by a timer: the timer callback', () => {
        const file = 'async-outside-connection/handlers-by-reference.ts';
        assert.deepEqual(rootsOf(result, file, lineOf(file, 'res.json(await orm.em.count(User))')), [`handlers-by-reference.ts:line ${lineOf(file, 'setInterval(async () => {')}`]);
      });

      it('a custom repository method reached from a cron job: the job', () => {
        assert.deepEqual(rootsOf(result, 'async-outside-connection/custom-repository.ts', lineOf('async-outside-connection/custom-repository.ts', 'this.find({ active: false })')), ['custom-repository.ts:remind']);
      });

      it('an Express route without the request-context middleware: the handler', () => {
        const handler = lineOf('async-outside-connection/express-without-context.ts', "app.get('/legacy/users'");
        assert.deepEqual(rootsOf(result, 'async-outside-connection/express-without-context.ts', handler + 1), [`express-without-context.ts:line ${handler}`]);
      });
    });

    it('messages name the RequestContext, not the runtime preset\'s newConnection() block', () => {
      const outside = result.findings.filter((finding) => finding.ruleId === 'async-outside-connection');
      assert.ok(outside.length > 0);
      for (const finding of outside) {
        assert.match(finding.message, /RequestContext/, finding.message);
        assert.doesNotMatch(finding.message, /newConnection|worker thread/, finding.message);
      }
    });
  });
}

describe('mikro-orm rule fixture coverage', () => {
  for (const rule of RULES) {
    it(`${rule} has fixtures that expect it and decoy fixtures that report nothing`, () => {
      const ruleFiles = fixtureFiles(join(fixturesRoot, rule));
      assert.ok(ruleFiles.some((file) => expectedFindings(file, 'type-aware').some((entry) => entry.endsWith(` ${rule}`))), `no fixture expects ${rule}`);
      assert.ok(ruleFiles.some((file) => !hasMarkers(file)), `no decoy-only fixture for ${rule}`);
    });
  }

  it('covers every entry point and decoy the issue names', () => {
    const names = files.map((file) => relative(fixturesRoot, file).split('\\').join('/'));
    for (const wanted of [
      'scheduled.ts', 'queue-consumer.ts', 'gateway.ts', 'event-listener.ts', 'timers.ts', 'script.ts', 'top-level.ts',
      'shared-helper.ts', 'services.ts', 'decoys.ts', 'forks.ts', 'transactions.ts', 'request-context.ts', 'controllers.ts',
      'express-with-context.ts', 'express-without-context.ts', 'express-route-order.ts', 'no-context-needed.ts',
      'custom-repository.ts', 'inferred.ts', 'lifecycle.ts', 'forked-argument.ts', 'express-routers/server.ts',
      'express-routers/users.router.ts', 'express-routers/admin.router.ts', 'controller-direct-call.ts', 'bootstrap.ts',
      'handlers-by-reference.ts', 'subscribers.ts', 'seeders.ts', 'guards.ts',
    ]) {
      assert.ok(names.includes(`async-outside-connection/${wanted}`), `no fixture async-outside-connection/${wanted}`);
    }
  });
});
