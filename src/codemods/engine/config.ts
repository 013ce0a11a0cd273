/**
 * The scan configuration: `orm-migrate.config.json`, or the `"ormMigrate"` key of package.json.
 * Every key is validated; an unknown key is an error too, so a typo never silently does nothing.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { globBase, hasGlobMagic } from './glob.js';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import {
  ASYNC_TO_SYNC,
  CONNECTION_FUNCTION,
  FUNCTION_ASYNC_TO_SYNC,
  RUNTIME_MODULE,
} from '../../runtime-shim/surface.js';
import { RULE_IDS, isRuleId } from './types.js';
import type { RuleId, RuleSetting } from './types.js';
import { DEFAULT_PRESET, PRESET_NAMES, PRESET_SPECIFIC_KEYS, isPresetName, presetByName } from '../presets/index.js';
import type { PresetName } from '../presets/index.js';

export const CONFIG_FILE_NAME = 'orm-migrate.config.json';
export const PACKAGE_JSON_KEY = 'ormMigrate';

export interface ConnectionFunctionConfig {
  /** Module specifier (as imported) or a path relative to the config file. */
  module: string;
  name: string;
  /** Which argument (0-based) is the callback that runs inside the block: `transaction('READ UNCOMMITTED', cb)` is 1. */
  callbackArgument: number;
  /**
   * The config names the module. Without it, the module is the first ORM module that really
   * exports the function, else `orm-migrate/runtime` (settled by resolving, see connection-module.ts).
   */
  moduleConfigured: boolean;
  /** Settled by resolving: whether `module` really exports `name` (a fix never imports a name that is not there). */
  exported?: boolean;
}

export interface ScanConfig {
  /** Which ORM the scan serves (src/codemods/presets): "runtime" (default) or "mikro-orm". */
  preset: PresetName;
  /** Module specifiers whose exports are the ORM (a path starting with `.` is relative to the config). */
  ormModules: string[];
  /** ORM method and function names: async name → sync twin. */
  methods: Record<string, string>;
  connection: ConnectionFunctionConfig;
  /** Overrides of the rules' default severities. */
  rules: Partial<Record<RuleId, RuleSetting>>;
  /** Globs relative to the config's directory; when non-empty a file must match one. */
  include: string[];
  /** Globs relative to the config's directory; a matching file is not scanned. */
  exclude: string[];
}

export interface LoadedConfig extends ScanConfig {
  /** Directory that relative globs and module paths in the config are resolved from. */
  baseDir: string;
  /** The file the config came from (`…/package.json#ormMigrate` for the package key), if any. */
  source: string | undefined;
}

/** A config file the user must fix: names the file and the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    problem: string,
  ) {
    super(key === undefined ? `${file}: ${problem}` : `${file}: "${key}" ${problem}`);
  }
}

export function defaultConfig(preset: PresetName = DEFAULT_PRESET): ScanConfig {
  return {
    preset,
    ormModules: [...presetByName(preset).ormModules],
    methods: { ...ASYNC_TO_SYNC, ...FUNCTION_ASYNC_TO_SYNC },
    // Only the runtime has a connection function; another preset's context openers are in its preset.
    connection:
      preset === DEFAULT_PRESET
        ? { module: RUNTIME_MODULE, name: CONNECTION_FUNCTION, callbackArgument: 0, moduleConfigured: false }
        : { module: presetByName(preset).ormModules[0] ?? RUNTIME_MODULE, name: '', callbackArgument: 0, moduleConfigured: true, exported: false },
    rules: {},
    include: [],
    exclude: [],
  };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const SETTINGS: readonly RuleSetting[] = ['off', 'warn', 'error'];
const CONNECTION_KEYS = ['module', 'name', 'callbackArgument'] as const;
/** No connection function takes its callback later than this (a typo like 10 for 1 is caught). */
const MAX_CALLBACK_ARGUMENT = 7;
const TOP_LEVEL_KEYS = ['preset', 'ormModules', 'methods', 'connection', 'rules', 'include', 'exclude'] as const;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown, file: string, key: string, allowEmpty: boolean): string[] {
  if (!Array.isArray(value)) throw new ConfigError(file, key, 'must be an array of strings');
  if (!allowEmpty && value.length === 0) throw new ConfigError(file, key, 'must not be empty');
  return value.map((item, index) => {
    if (typeof item !== 'string' || item.trim() === '') {
      throw new ConfigError(file, `${key}[${index}]`, 'must be a non-empty string');
    }
    return item;
  });
}

/** A preset name from the command line (`--preset`), or an error naming the valid ones. */
export function presetFromFlag(value: string): PresetName {
  if (!isPresetName(value)) throw new ConfigError('--preset', undefined, `unknown preset "${value}" (presets: ${PRESET_NAMES.join(', ')})`);
  return value;
}

/**
 * Validates a parsed config object; `file` (and `keyPrefix` for package.json) name it in errors.
 * `presetOverride` (`--preset`) wins over the file's "preset"; the keys that only mean something
 * for another preset's ORM are errors either way (they would silently do nothing).
 */
export function validateConfig(raw: unknown, file: string, keyPrefix = '', presetOverride?: PresetName): ScanConfig {
  const key = (name: string): string => `${keyPrefix}${name}`;
  if (!isObject(raw)) throw new ConfigError(file, keyPrefix ? keyPrefix.slice(0, -1) : undefined, 'must be a JSON object');
  for (const name of Object.keys(raw)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(name)) {
      throw new ConfigError(file, key(name), `is not a known key (known: ${TOP_LEVEL_KEYS.join(', ')})`);
    }
  }
  if (raw.preset !== undefined && !isPresetName(raw.preset)) {
    throw new ConfigError(file, key('preset'), `must be one of the presets: ${PRESET_NAMES.join(', ')} (got ${JSON.stringify(raw.preset)})`);
  }
  const presetName = presetOverride ?? (raw.preset as PresetName | undefined) ?? DEFAULT_PRESET;
  const preset = presetByName(presetName);
  for (const name of Object.keys(raw)) {
    if (!preset.configKeys.includes(name) && PRESET_SPECIFIC_KEYS.includes(name)) {
      const chosen = presetOverride !== undefined && presetOverride !== raw.preset ? `--preset ${presetName}` : `"preset": "${presetName}"`;
      const owners = PRESET_NAMES.filter((other) => presetByName(other).configKeys.includes(name));
      throw new ConfigError(file, key(name), `only applies to the ${owners.map((owner) => `"${owner}"`).join(', ')} preset, not to ${chosen}: remove it`);
    }
  }
  const config = defaultConfig(presetName);

  if (raw.ormModules !== undefined) {
    const configured = stringArray(raw.ormModules, file, key('ormModules'), false);
    // The runtime's modules are a default; another preset's ORM is always its own packages (plus re-exporters).
    config.ormModules = presetName === DEFAULT_PRESET ? configured : [...new Set([...preset.ormModules, ...configured])];
  }

  if (raw.methods !== undefined) {
    if (!isObject(raw.methods)) throw new ConfigError(file, key('methods'), 'must be an object mapping async method names to their sync twins');
    const entries = Object.entries(raw.methods);
    if (entries.length === 0) throw new ConfigError(file, key('methods'), 'must not be empty');
    const methods: Record<string, string> = {};
    for (const [asyncName, syncName] of entries) {
      if (!IDENTIFIER.test(asyncName)) throw new ConfigError(file, key(`methods.${asyncName}`), 'is not a valid method name');
      if (typeof syncName !== 'string' || !IDENTIFIER.test(syncName)) {
        throw new ConfigError(file, key(`methods.${asyncName}`), 'must be the name of the sync twin (a string identifier)');
      }
      if (syncName === asyncName) throw new ConfigError(file, key(`methods.${asyncName}`), 'must differ from its sync twin');
      methods[asyncName] = syncName;
    }
    config.methods = methods;
  }

  if (raw.connection !== undefined) {
    const connection = raw.connection;
    if (!isObject(connection)) throw new ConfigError(file, key('connection'), 'must be an object like { "module": "orm-migrate/runtime", "name": "newConnection", "callbackArgument": 0 }');
    for (const name of Object.keys(connection)) {
      if (!(CONNECTION_KEYS as readonly string[]).includes(name)) throw new ConfigError(file, key(`connection.${name}`), `is not a known key (known: ${CONNECTION_KEYS.join(', ')})`);
    }
    if (connection.module !== undefined) {
      if (typeof connection.module !== 'string' || connection.module.trim() === '') {
        throw new ConfigError(file, key('connection.module'), 'must be a non-empty string');
      }
      config.connection.module = connection.module;
      config.connection.moduleConfigured = true;
    }
    if (connection.callbackArgument !== undefined) {
      const index = connection.callbackArgument;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > MAX_CALLBACK_ARGUMENT) {
        throw new ConfigError(file, key('connection.callbackArgument'), `must be the 0-based index of the callback argument (an integer from 0 to ${MAX_CALLBACK_ARGUMENT})`);
      }
      config.connection.callbackArgument = index;
    }
    if (connection.name !== undefined) {
      if (typeof connection.name !== 'string' || !IDENTIFIER.test(connection.name)) {
        throw new ConfigError(file, key('connection.name'), 'must be a function name (a string identifier)');
      }
      config.connection.name = connection.name;
    }
  }

  if (raw.rules !== undefined) {
    if (!isObject(raw.rules)) throw new ConfigError(file, key('rules'), 'must be an object mapping rule ids to "off", "warn" or "error"');
    for (const [ruleId, setting] of Object.entries(raw.rules)) {
      if (!isRuleId(ruleId)) throw new ConfigError(file, key(`rules.${ruleId}`), `is not a rule (rules: ${RULE_IDS.join(', ')})`);
      if (typeof setting !== 'string' || !(SETTINGS as readonly string[]).includes(setting)) {
        throw new ConfigError(file, key(`rules.${ruleId}`), 'must be "off", "warn" or "error"');
      }
      if (setting !== 'off' && !preset.rules.includes(ruleId)) {
        throw new ConfigError(file, key(`rules.${ruleId}`), `does not run under the "${presetName}" preset (its rules: ${preset.rules.join(', ')}): remove it or set it to "off"`);
      }
      config.rules[ruleId] = setting as RuleSetting;
    }
  }

  if (raw.include !== undefined) config.include = stringArray(raw.include, file, key('include'), true);
  if (raw.exclude !== undefined) config.exclude = stringArray(raw.exclude, file, key('exclude'), true);
  return config;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, undefined, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(file, undefined, `is not valid JSON: ${(error as Error).message}`);
  }
}

function fromPackageJson(file: string, raw: unknown, preset: PresetName | undefined): LoadedConfig | undefined {
  if (!isObject(raw) || raw[PACKAGE_JSON_KEY] === undefined) return undefined;
  return {
    ...validateConfig(raw[PACKAGE_JSON_KEY], file, `${PACKAGE_JSON_KEY}.`, preset),
    baseDir: dirname(file),
    source: `${file}#${PACKAGE_JSON_KEY}`,
  };
}

/** The nearest `orm-migrate.config.json` / package.json `"ormMigrate"` from `start` upward (the search stops at the first package.json). */
function nearestConfig(start: string, preset: PresetName | undefined): LoadedConfig {
  for (let dir = start; ; dir = dirname(dir)) {
    const configFile = join(dir, CONFIG_FILE_NAME);
    if (existsSync(configFile)) return { ...validateConfig(readJson(configFile), configFile, '', preset), baseDir: dir, source: configFile };
    const packageFile = join(dir, 'package.json');
    if (existsSync(packageFile)) {
      return fromPackageJson(packageFile, readJson(packageFile), preset) ?? { ...defaultConfig(preset), baseDir: dir, source: undefined };
    }
    if (dirname(dir) === dir) return { ...defaultConfig(preset), baseDir: start, source: undefined };
  }
}

/** Where the config search starts for a scanned path: its directory (a glob's leading directory). */
function searchStart(cwd: string, path: string): string {
  const absolute = resolve(cwd, hasGlobMagic(path) ? globBase(toSlashes(path)) : path);
  try {
    return statSync(absolute).isDirectory() ? absolute : dirname(absolute);
  } catch {
    return dirname(absolute);
  }
}

const toSlashes = (path: string): string => path.split('\\').join('/');

/**
 * Loads the config: the given file, or the one found from each scanned path upward (ESLint 10
 * looks it up from each file; here all the paths of one run must share one config, or it is an
 * error naming both files). Without paths the search starts at `cwd`.
 */
export function loadConfig(cwd: string, explicitFile?: string, paths: readonly string[] = ['.'], preset?: PresetName): LoadedConfig {
  if (explicitFile !== undefined) {
    const file = isAbsolute(explicitFile) ? explicitFile : resolve(cwd, explicitFile);
    if (!existsSync(file)) throw new ConfigError(file, undefined, 'does not exist');
    const raw = readJson(file);
    if (basename(file) === 'package.json') {
      const loaded = fromPackageJson(file, raw, preset);
      if (!loaded) throw new ConfigError(file, PACKAGE_JSON_KEY, 'is missing: package.json has no "ormMigrate" key');
      return loaded;
    }
    return { ...validateConfig(raw, file, '', preset), baseDir: dirname(file), source: file };
  }
  const starts = [...new Set((paths.length > 0 ? paths : ['.']).map((path) => searchStart(cwd, path)))];
  let chosen: { config: LoadedConfig; path: string } | undefined;
  for (const [index, start] of starts.entries()) {
    const config = nearestConfig(start, preset);
    if (!chosen) {
      chosen = { config, path: paths[index] ?? '.' };
      continue;
    }
    if (config.source !== chosen.config.source || (config.source === undefined && config.baseDir !== chosen.config.baseDir)) {
      const name = (loaded: LoadedConfig) => loaded.source ?? `no config (defaults, project ${loaded.baseDir})`;
      throw new ConfigError(
        '--config',
        undefined,
        `the scanned paths have different configs: ${chosen.path} uses ${name(chosen.config)}, ${paths[index] ?? start} uses ${name(config)}; scan them separately or pass --config`,
      );
    }
  }
  return chosen?.config ?? nearestConfig(resolve(cwd), preset);
}
