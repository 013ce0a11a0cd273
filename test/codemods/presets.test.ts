/** Presets: the config key, the --preset override, the keys a preset rejects, and what each preset runs. */
import assert from 'node:assert/strict';
import { ConfigError, defaultConfig, loadConfig, validateConfig } from '../../src/codemods/index.js';
import { PRESET_NAMES, presetByName } from '../../src/codemods/presets/index.js';
import { createTempProject } from '../support/temp-project.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('presets: config', () => {
  it('defaults to the runtime preset, whose defaults are today’s', () => {
    const config = validateConfig({}, 'x.json');
    assert.equal(config.preset, 'runtime');
    assert.deepEqual(config.ormModules, defaultConfig().ormModules);
    assert.deepEqual(config.ormModules, ['orm-migrate/runtime']);
  });

  it('"preset": "mikro-orm" takes the preset’s ORM modules, and "ormModules" adds to them', () => {
    const config = validateConfig({ preset: 'mikro-orm' }, 'x.json');
    assert.equal(config.preset, 'mikro-orm');
    assert.deepEqual(config.ormModules, ['@mikro-orm/core', '@mikro-orm/*']);
    assert.deepEqual(validateConfig({ preset: 'mikro-orm', ormModules: ['./db'] }, 'x.json').ormModules, ['@mikro-orm/core', '@mikro-orm/*', './db']);
  });

  it('an unknown preset names the file, the key and the valid presets', () => {
    const error = configError(() => validateConfig({ preset: 'prisma' }, 'orm-migrate.config.json'));
    assert.equal(error.message, `orm-migrate.config.json: "preset" must be one of the presets: ${PRESET_NAMES.join(', ')} (got "prisma")`);
    assert.match(configError(() => validateConfig({ preset: 3 }, 'x.json')).message, /"preset" must be one of the presets: runtime, mikro-orm \(got 3\)/);
  });

  it('the runtime-only keys ("methods", "connection") are errors under another preset, from the file or from --preset', () => {
    assert.equal(
      configError(() => validateConfig({ preset: 'mikro-orm', connection: { name: 'x' } }, 'orm-migrate.config.json')).message,
      'orm-migrate.config.json: "connection" only applies to the "runtime" preset, not to "preset": "mikro-orm": remove it',
    );
    assert.equal(
      configError(() => validateConfig({ methods: { aget: 'get' } }, 'package.json', 'ormMigrate.', 'mikro-orm')).message,
      'package.json: "ormMigrate.methods" only applies to the "runtime" preset, not to --preset mikro-orm: remove it',
    );
    // The runtime preset keeps them.
    assert.equal(validateConfig({ preset: 'runtime', connection: { name: 'open' } }, 'x.json').connection.name, 'open');
  });

  it('a rule the preset does not run may only be turned off', () => {
    assert.match(
      configError(() => validateConfig({ preset: 'mikro-orm', rules: { 'floating-async-call': 'warn' } }, 'x.json')).message,
      /^x\.json: "rules\.floating-async-call" does not run under the "mikro-orm" preset \(its rules: async-outside-connection, allow-async-unsafe\)/,
    );
    assert.equal(validateConfig({ preset: 'mikro-orm', rules: { 'floating-async-call': 'off', 'allow-async-unsafe': 'error' } }, 'x.json').rules['allow-async-unsafe'], 'error');
  });

  it('--preset overrides the file’s preset (and works without a file)', () => {
    const project = createTempProject({ 'orm-migrate.config.json': '{ "preset": "runtime" }\n', 'a.ts': '' });
    try {
      assert.equal(loadConfig(project.dir).preset, 'runtime');
      assert.equal(loadConfig(project.dir, undefined, ['.'], 'mikro-orm').preset, 'mikro-orm');
      assert.equal(loadConfig(project.dir, 'orm-migrate.config.json', ['.'], 'mikro-orm').preset, 'mikro-orm');
      project.write('orm-migrate.config.json', '{ "preset": "mikro-orm" }\n');
      assert.equal(loadConfig(project.dir).preset, 'mikro-orm');
      assert.equal(loadConfig(project.dir, undefined, ['.'], 'runtime').preset, 'runtime');
    } finally {
      project.remove();
    }
    const bare = createTempProject({ 'package.json': '{}\n' });
    try {
      assert.equal(loadConfig(bare.dir, undefined, ['.'], 'mikro-orm').preset, 'mikro-orm');
    } finally {
      bare.remove();
    }
  });

  it('each preset names its rules, modules and wording', () => {
    assert.deepEqual(presetByName('mikro-orm').rules, ['async-outside-connection', 'allow-async-unsafe']);
    assert.equal(presetByName('runtime').rules.length, 5);
    assert.equal(presetByName('mikro-orm').wording.context, 'RequestContext');
    const hatch = presetByName('mikro-orm').escapeHatch;
    assert.deepEqual([hatch.env, hatch.options, hatch.envOnValues], [['MIKRO_ORM_ALLOW_GLOBAL_CONTEXT'], ['allowGlobalContext'], ['true', 't', '1']]);
  });
});
