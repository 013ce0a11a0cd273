/**
 * The README's gate section, executed literally: its commands (taken from README.md by the
 * `readme-test: gate` marker, not copied here) run in a fresh project, twice in a row. Both
 * rounds pass and count the same calls: a second run never doubles the record.
 */
import assert from 'node:assert/strict';
import { createAppProject, legacyTestFile } from './support/app-project.js';
import type { AppProject } from './support/app-project.js';
import { readmeBlock } from './support/readme.js';

describe("the README's gate section, run literally in a fresh project", function () {
  this.timeout(180_000);
  let project: AppProject;
  before(() => {
    project = createAppProject({ 'test/app.test.mjs': legacyTestFile(3) });
  });
  after(() => project.remove());

  it('every command succeeds, twice in a row, with the same counts', () => {
    const commands = readmeBlock('gate').split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
    assert.ok(commands.length >= 3, commands.join('\n'));
    const summaries: string[][] = [];
    for (let round = 1; round <= 2; round += 1) {
      const lines: string[] = [];
      for (const command of commands) {
        const run = project.sh(command);
        assert.equal(run.status, 0, `round ${round}: ${command}\n${run.stdout}\n${run.stderr}`);
        const summary = /\d+ deprecated calls? recorded at \d+ sites?/.exec(run.stdout);
        if (summary) lines.push(summary[0]);
      }
      summaries.push(lines);
    }
    assert.ok(summaries[0]!.length >= 2, String(summaries[0]));
    assert.deepEqual(summaries[0], ['3 deprecated calls recorded at 1 site', '3 deprecated calls recorded at 1 site']);
    assert.deepEqual(summaries[1], summaries[0], 'the second round counts the same calls');
  });
});
