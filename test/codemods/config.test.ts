/** The config file: every key validated, errors naming the file and the key, and its effect on a scan. */
import assert from 'node:assert/strict';
import { ConfigError, defaultConfig, loadConfig, scan, validateConfig } from '../../src/codemods/index.js';
import { settleConnectionModule } from '../../src/codemods/engine/connection-module.js';
import { MODELS_SOURCE, createTempProject, createTypedProject } from '../support/temp-project.js';

function configError(raw: unknown): ConfigError {
  try {
    validateConfig(raw, 'orm-migrate.config.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('config validation', () => {
  const cases: [string, unknown, string][] = [
    ['a config that is not an object', [], 'must be a JSON object'],
    ['an unknown key', { ormModule: ['x'] }, '"ormModule" is not a known key'],
    ['ormModules not an array', { ormModules: 'orm-migrate/runtime' }, '"ormModules" must be an array'],
    ['an empty ormModules', { ormModules: [] }, '"ormModules" must not be empty'],
    ['a blank module', { ormModules: ['orm', ' '] }, '"ormModules[1]" must be a non-empty string'],
    ['methods not an object', { methods: ['aget'] }, '"methods" must be an object'],
    ['a method that is not an identifier', { methods: { 'a-get': 'get' } }, '"methods.a-get" is not a valid method name'],
    ['a method without a sync twin name', { methods: { aget: 3 } }, '"methods.aget" must be the name of the sync twin'],
    ['connection not an object', { connection: 'newConnection' }, '"connection" must be an object'],
    ['an unknown connection key', { connection: { modul: 'x' } }, '"connection.modul" is not a known key'],
    ['a connection name that is not an identifier', { connection: { name: 'new connection' } }, '"connection.name" must be a function name'],
    ['a negative callbackArgument', { connection: { callbackArgument: -1 } }, '"connection.callbackArgument" must be the 0-based index of the callback argument'],
    ['a callbackArgument that is not an integer', { connection: { callbackArgument: '1' } }, '"connection.callbackArgument" must be the 0-based index of the callback argument'],
    ['an unknown rule', { rules: { 'no-such-rule': 'off' } }, '"rules.no-such-rule" is not a rule'],
    ['a bad severity', { rules: { 'floating-async-call': 'warning' } }, '"rules.floating-async-call" must be "off", "warn" or "error"'],
    ['include not an array', { include: 'src/**' }, '"include" must be an array of strings'],
    ['a non-string exclude', { exclude: [1] }, '"exclude[0]" must be a non-empty string'],
  ];
  for (const [name, raw, message] of cases) {
    it(`${name}: names the file and the key`, () => {
      const error = configError(raw);
      assert.ok(error.message.startsWith('orm-migrate.config.json: '), error.message);
      assert.ok(error.message.includes(message), `${error.message} should include ${message}`);
    });
  }

  it('defaults: the runtime module, the surface map, newConnection', () => {
    const config = defaultConfig();
    assert.deepEqual(config.ormModules, ['orm-migrate/runtime']);
    assert.deepEqual(config.connection, { module: 'orm-migrate/runtime', name: 'newConnection', callbackArgument: 0, moduleConfigured: false });
    assert.equal(config.methods.aget, 'get');
    assert.equal(config.methods.asave, 'save');
    assert.equal(config.methods.aatomic, 'atomic');
  });

  it('without a connection module: the first ORM module that really exports the function (resolved), else orm-migrate/runtime', () => {
    assert.deepEqual(validateConfig({ ormModules: ['@acme/orm'] }, 'x.json').connection, { module: 'orm-migrate/runtime', name: 'newConnection', callbackArgument: 0, moduleConfigured: false });
    const project = createTempProject({
      'facade.ts': "export * from 'orm-migrate/runtime';\n",
      'models.ts': 'export const Question = {};\n',
      'own.ts': 'export async function newConnection<R>(work: () => Promise<R>): Promise<R> { return work(); }\n',
    });
    try {
      const settled = (ormModules: string[], connection?: object) => {
        const config = { ...validateConfig({ ormModules, ...(connection ? { connection } : {}) }, 'x.json'), baseDir: project.dir, source: undefined };
        const { module, exported } = settleConnectionModule(config).connection;
        return { module, exported };
      };
      assert.deepEqual(settled(['./models.ts', '@acme/not-installed']), { module: 'orm-migrate/runtime', exported: true });
      assert.deepEqual(settled(['./models.ts', './facade.ts']), { module: './facade.ts', exported: true });
      assert.deepEqual(settled(['./own.ts']), { module: './own.ts', exported: true });
      assert.deepEqual(settled(['./own.ts'], { module: './models.ts' }), { module: './models.ts', exported: false });
    } finally {
      project.remove();
    }
  });
});

describe('config loading', () => {
  it('finds orm-migrate.config.json from the working directory upward, and package.json "ormMigrate"', () => {
    const project = createTempProject({
      'orm-migrate.config.json': '{ "rules": { "floating-async-call": "warn" } }\n',
      'sub/package.json': '{ "name": "sub", "ormMigrate": { "exclude": ["legacy/**"] } }\n',
      'other/deep/file.ts': '',
    });
    try {
      const top = loadConfig(project.path('other/deep'));
      assert.equal(top.source, project.path('orm-migrate.config.json'));
      assert.equal(top.rules['floating-async-call'], 'warn');
      const sub = loadConfig(project.path('sub'));
      assert.equal(sub.source, `${project.path('sub/package.json')}#ormMigrate`);
      assert.deepEqual(sub.exclude, ['legacy/**']);
    } finally {
      project.remove();
    }
  });

  it('a package.json key error names the file and "ormMigrate.<key>"', () => {
    const project = createTempProject({ 'package.json': '{ "ormMigrate": { "rules": { "floating-async-call": 2 } } }\n' });
    try {
      assert.throws(() => loadConfig(project.dir), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, `${project.path('package.json')}: "ormMigrate.rules.floating-async-call" must be "off", "warn" or "error"`);
        return true;
      });
    } finally {
      project.remove();
    }
  });

  it('invalid JSON and a missing explicit file name the file', () => {
    const project = createTempProject({ 'orm-migrate.config.json': '{ "rules": ' });
    try {
      assert.throws(() => loadConfig(project.dir), /orm-migrate\.config\.json: is not valid JSON/);
      assert.throws(() => loadConfig(project.dir, 'nope.json'), /nope\.json: does not exist/);
    } finally {
      project.remove();
    }
  });
});

describe('config in effect', () => {
  it('a custom connection function in a project module, custom ORM modules and method names', async () => {
    const project = createTempProject({
      'package.json': '{ "type": "module" }\n',
      'orm-migrate.config.json': JSON.stringify({
        ormModules: ['@acme/orm'],
        methods: { fetchAsync: 'fetch' },
        connection: { module: './db.ts', name: 'withDb' },
      }),
      'db.ts': "export { openSession as withDb } from '@acme/orm';\n",
      'app.ts': [
        "import { Order } from '@acme/orm';",
        "import { withDb } from './db.js';",
        'export async function outside() {',
        '  return Order.fetchAsync(1);',
        '}',
        'export async function inside() {',
        '  return withDb(async () => Order.fetchAsync(2) + Order.fetch(3));',
        '}',
        'export async function notTheMap() {',
        "  return Order.aget(1);",
        '}',
        '',
      ].join('\n'),
    });
    try {
      const result = await scan({ cwd: project.dir, types: false });
      const found = result.findings.map((finding) => `${finding.line} ${finding.ruleId}`);
      assert.deepEqual(found, ['4 async-outside-connection', '7 sync-in-async-context']);
    } finally {
      project.remove();
    }
  });

  it('a connection function re-exported under another name is recognised with types too', async () => {
    const project = createTypedProject({
      'orm-migrate.config.json': JSON.stringify({ connection: { module: './db.ts', name: 'withDb' } }),
      'db.ts': "export { newConnection as withDb } from 'orm-migrate/runtime';\n",
      'app.ts': [
        "import { newConnection } from 'orm-migrate/runtime';",
        "import { Question } from './models.js';",
        "import { withDb } from './db.js';",
        'export async function configured() {',
        '  return withDb(async () => Question.objects.acount());',
        '}',
        'export async function notConfigured() {',
        '  return newConnection(async () => Question.objects.acount());',
        '}',
        '',
      ].join('\n'),
    });
    try {
      for (const types of [true, false]) {
        const result = await scan({ cwd: project.dir, types });
        assert.deepEqual(result.findings.map((finding) => `${finding.line} ${finding.ruleId}`), ['8 async-outside-connection'], `types: ${types}`);
      }
    } finally {
      project.remove();
    }
  });

  it('type-aware, but the ORM module does not resolve: says so and follows the imports instead', async () => {
    const project = createTempProject({
      'package.json': '{ "type": "module" }\n',
      'tsconfig.json': '{ "compilerOptions": { "module": "NodeNext", "strict": true, "noEmit": true, "types": [] } }\n',
      'models.ts': MODELS_SOURCE,
      'app.ts': [
        "import { Question } from './models.js';",
        'const cache = { async aget(key: string) { return key; } };',
        'export async function f() {',
        "  await cache.aget('x');",
        '  return Question.objects.aget({ pk: 1 });',
        '}',
        '',
      ].join('\n'),
      'untyped/tool.js': "import { Question } from '../models.js';\nexport const count = await Question.objects.acount();\n",
    });
    try {
      const result = await scan({ cwd: project.dir });
      assert.equal(result.mode, 'type-aware');
      assert.ok(result.notes.some((note) => note.startsWith('tsconfig.json: orm-migrate/runtime does not resolve')), result.notes.join('\n'));
      assert.deepEqual(result.findings.map((finding) => `${finding.file.slice(project.dir.length + 1)}:${finding.line}`), ['app.ts:5', 'untyped/tool.js:2']);
    } finally {
      project.remove();
    }
  });

  it('without any tsconfig.json the scan is syntactic and says why', async () => {
    const project = createTempProject({ 'models.ts': MODELS_SOURCE, 'app.ts': "import { Question } from './models.js';\nQuestion.objects.aget({ pk: 1 });\n" });
    try {
      const result = await scan({ cwd: project.dir });
      assert.equal(result.mode, 'syntactic');
      assert.deepEqual(result.notes, ['no tsconfig.json found for 2 file(s) (e.g. app.ts): ORM calls there are matched by following imports syntactically']);
      assert.deepEqual(result.findings.map((finding) => finding.ruleId), ['async-outside-connection', 'floating-async-call']);
    } finally {
      project.remove();
    }
  });

  it('rules set to off are not run; severities follow the config; --rule overrides win', async () => {
    const project = createTypedProject({
      'orm-migrate.config.json': JSON.stringify({ rules: { 'async-outside-connection': 'error', 'floating-async-call': 'off' } }),
      'app.ts': "import { Question } from './models.js';\nexport async function f() {\n  Question.objects.acount();\n}\n",
    });
    try {
      const configured = await scan({ cwd: project.dir });
      assert.deepEqual(configured.findings.map((finding) => [finding.ruleId, finding.severity]), [['async-outside-connection', 'error']]);
      const overridden = await scan({ cwd: project.dir, ruleOverrides: { 'async-outside-connection': 'off', 'floating-async-call': 'warn' } });
      assert.deepEqual(overridden.findings.map((finding) => [finding.ruleId, finding.severity]), [['floating-async-call', 'warning']]);
    } finally {
      project.remove();
    }
  });
});
