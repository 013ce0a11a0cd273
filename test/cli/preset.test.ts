/** `--preset` on scan, fix and gate, and the config's "preset", as a user runs them: the built CLI in a child process. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sarifErrors } from '../support/sarif-schema.js';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';



const cli = (cwd: string, args: string[]): CliRun => runCli(cwd, args);

describe('orm-migrate --preset (child process)', function () {
  this.timeout(60_000);
  let project: TempProject;
  beforeEach(() => {
    project = createTempProject({ 'package.json': '{ "name": "p", "type": "module" }\n', 'src/a.ts': 'export const a = 1;\n' });
  });
  afterEach(() => project.remove());

  it('an unknown --preset is a usage error (exit 2) naming the valid presets, on scan, fix and gate', () => {
    for (const command of [['scan'], ['fix', '--dry-run'], ['gate', '--max', '0']]) {
      const run = cli(project.dir, [...command, '--preset', 'prisma']);
      assert.equal(run.status, 2, `${command.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /--preset <name>' argument 'prisma' is invalid\. Allowed choices are runtime, mikro-orm\./);
    }
  });

  it('an unknown "preset" in the config is exit 2 naming the file, the key and the presets', () => {
    project.write('orm-migrate.config.json', '{ "preset": "typeorm" }\n');
    const run = cli(project.dir, ['scan']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /orm-migrate\.config\.json: "preset" must be one of the presets: runtime, mikro-orm \(got "typeorm"\)/);
    const fix = cli(project.dir, ['fix', '--dry-run']);
    assert.equal(fix.status, 2);
    assert.match(fix.stderr, /"preset" must be one of the presets/);
  });

  it('a runtime-only key under --preset mikro-orm is exit 2; the flag overrides the file', () => {
    project.write('orm-migrate.config.json', '{ "connection": { "name": "open" } }\n');
    assert.equal(cli(project.dir, ['scan']).status, 0);
    const run = cli(project.dir, ['scan', '--preset', 'mikro-orm']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /"connection" only applies to the "runtime" preset, not to --preset mikro-orm: remove it/);
  });

  it('--rule for a rule the preset does not run is exit 2', () => {
    const run = cli(project.dir, ['scan', '--preset', 'mikro-orm', '--rule', 'floating-async-call:warn']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--rule: "floating-async-call" does not run under the "mikro-orm" preset/);
    assert.equal(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--rule', 'floating-async-call:off']).status, 0);
  });

  it('--preset is accepted by scan, fix and gate --scan', () => {
    assert.equal(cli(project.dir, ['scan', '--preset', 'mikro-orm']).status, 0);
    assert.equal(cli(project.dir, ['fix', '--dry-run', '--preset', 'mikro-orm']).status, 0);
    const run = (kind: string) => JSON.stringify({ kind, run: 'r1', pid: 1, ...(kind === 'run' ? { startedAt: '2026-01-01T00:00:00.000Z' } : {}) });
    project.write('warnings.jsonl', `${run('run')}\n${run('run-end')}\n`);
    const gate = cli(project.dir, ['gate', '--max', '0', '--scan', 'src', '--preset', 'mikro-orm', '--warnings', 'warnings.jsonl']);
    assert.equal(gate.status, 0, gate.stderr);
  });

  it('under mikro-orm: exit 1 on the (error) finding; json names the preset and the roots; SARIF lists the preset\'s rules with its help', () => {
    symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(project.dir, 'node_modules'), 'dir');
    project.write(
      'src/job.ts',
      `import type { MikroORM } from '@mikro-orm/core';
export class User { id!: number; }
export function schedule(orm: MikroORM) {
  setInterval(async function sweep() {
    await orm.em.find(User, {});
  }, 1000);
}
`,
    );
    const json = cli(project.dir, ['scan', '--preset', 'mikro-orm', '--no-types', '--format', 'json']);
    assert.equal(json.status, 1, json.stderr);
    const document = JSON.parse(json.stdout) as { preset?: string; findings: { ruleId: string; severity: string; roots: { name: string; line: number }[] }[] };
    assert.equal(document.preset, 'mikro-orm');
    assert.deepEqual(document.findings.map((finding) => [finding.ruleId, finding.severity, finding.roots.map((root) => `${root.name}:${root.line}`)]), [['async-outside-connection', 'error', ['sweep:4']]]);
    const sarif = JSON.parse(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--no-types', '-f', 'sarif']).stdout) as { runs: { tool: { driver: { rules: { id: string; help: { text: string }; defaultConfiguration: { level: string } }[] } } }[] };
    assert.deepEqual(sarifErrors(sarif), []);
    const rules = sarif.runs[0]?.tool.driver.rules ?? [];
    assert.deepEqual(rules.map((rule) => `${rule.id} ${rule.defaultConfiguration.level}`), ['async-outside-connection error', 'allow-async-unsafe warning', 'parse-error error']);
    assert.match(rules[0]?.help.text ?? '', /RequestContext/);
    assert.doesNotMatch(rules[0]?.help.text ?? '', /newConnection/);
    // The runtime preset's JSON has no "preset" key (its output is as before presets existed).
    const runtime = JSON.parse(cli(project.dir, ['scan', '--no-types', '--format', 'json']).stdout) as Record<string, unknown>;
    assert.equal('preset' in runtime, false);
  });
});
