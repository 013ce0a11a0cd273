/**
 * Presets: which ORM the scan, fix and gate serve. A preset is data and small predicates the
 * engine and the rules consult (which modules are the ORM, which calls need a context, what opens
 * one, which entry points already run inside one, the escape hatch, the rules and their wording).
 * The rules stay one per file; they read the preset instead of being copied per ORM.
 */
import type { RuleId, Severity } from '../engine/types.js';
import { mikroOrmPreset } from './mikro-orm.js';
import { runtimePreset } from './runtime.js';

export const PRESET_NAMES = ['runtime', 'mikro-orm'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
export const DEFAULT_PRESET: PresetName = 'runtime';

export function isPresetName(value: unknown): value is PresetName {
  return typeof value === 'string' && (PRESET_NAMES as readonly string[]).includes(value);
}

/** How findings and help name the context ("connection block", "RequestContext"). */
export interface PresetWording {
  /** The context, as a noun: `newConnection() block`, `RequestContext`. */
  context: string;
  /** What opens one, for help texts. */
  opener: string;
}

/** A call whose callback argument runs inside a context (`newConnection(cb)`, `RequestContext.create(em, cb)`). */
export interface ContextOpenerCall {
  /** `Receiver.name(...)` (a static method) or a bare `name(...)` when receiver is undefined. */
  receiver: string | undefined;
  name: string;
  /** 0-based index of the callback that runs inside the context. */
  callbackArgument: number;
}

/** How a preset decides what needs a context and what provides one; undefined parts come from the config (the runtime preset). */
export interface ContextModel {
  /** Classes (and their subclasses) whose methods below need a context. */
  receiverTypes: readonly string[];
  /** Methods of those classes that need a context (they validate the global context). */
  methods: ReadonlySet<string>;
  /** Methods of those classes that return an object that needs none (`em.fork()`): calls on it are fine. */
  forkMethods: ReadonlySet<string>;
  /** Methods of those classes that return another context-needing object (`em.getRepository(X)`). */
  repositoryMethods: ReadonlySet<string>;
  /** Properties whose value is a context-needing object (`orm.em`). */
  managerProperties: ReadonlySet<string>;
  /** Methods whose callback runs inside a context (`em.transactional(cb)`: argument index). */
  callbackMethods: ReadonlyMap<string, number>;
  /** Calls whose callback runs inside a context. */
  openerCalls: readonly ContextOpenerCall[];
  /** Method decorators that run the method inside a context. */
  openerDecorators: ReadonlySet<string>;
  /** Framework methods handed a fork (`run(em)` of a class extending `Seeder`): calls on that parameter need no context. */
  forkedParameters: readonly { baseClass: string; method: string; parameter: number }[];
  /** Parameter types whose manager property is the flushing EntityManager, never the global one (`args.em` of `EventArgs`). */
  forkedArgumentTypes: ReadonlySet<string>;
}

/** Framework entry points: which already run inside a context, which run outside every one. */
export interface EntryPoints {
  /** Class decorators whose handler methods run inside a context when `insideWhen` holds (NestJS `@Controller`). */
  insideClassDecorators: ReadonlySet<string>;
  /** Method decorators that mark those handlers (`@Get`, `@Post` …). */
  insideMethodDecorators: ReadonlySet<string>;
  /**
   * Methods the framework calls inside a request, by the interface their class implements
   * (`canActivate` of a `CanActivate` guard): inside under the same condition as the handlers.
   */
  insideInterfaceMethods: ReadonlyMap<string, readonly string[]>;
  /**
   * Methods that register an HTTP route handler (`app.get(path, handler)`, `router.post(…)`,
   * `fastify.get(…)`): their function arguments run inside a context when the project registers
   * a context middleware.
   */
  routeMethods: ReadonlySet<string>;
  /** Method decorators whose methods are roots outside every context (`@Cron`, `@OnEvent` …). */
  outsideMethodDecorators: ReadonlySet<string>;
  /** Class decorators whose named methods are roots outside every context (`@Processor` → `process`). */
  outsideClassMethods: ReadonlyMap<string, readonly string[]>;
  /**
   * Base classes declared in the ORM whose subclasses the ORM itself hands out, by entity metadata
   * the scan cannot follow (`em.getRepository(Book)` → `BookRepository`): a method of a class that
   * extends one is called where no visible caller shows it, so no visible caller is no evidence that
   * it runs outside a context. Such a method is no root: only callers the scan sees decide it.
   */
  unseenCallerBaseClasses: ReadonlySet<string>;
}

/** The escape hatch that turns the context check off, which the `allow-async-unsafe` rule flags. */
export interface EscapeHatch {
  /** Environment variables. */
  env: readonly string[];
  /**
   * The string values (lower case) the ORM reads as "on"; any other literal leaves the check on.
   * Undefined: every value but an "off" one ('', '0', 'false', 'no') turns it off (the runtime's rule).
   */
  envOnValues?: readonly string[];
  /** Boolean options of the ORM's configuration (`allowGlobalContext: true`). */
  options: readonly string[];
  /** Where an options object is the ORM's: an argument of these calls (`MikroORM.init({…})`, `defineConfig({…})`). */
  optionCalls?: readonly string[];
  /** …or typed with these (`const config: Options = {…}`, `{…} satisfies Options`). */
  optionTypes?: readonly string[];
  /** …or the default export of a file whose name matches (`mikro-orm.config.ts`). */
  optionFiles?: RegExp;
}

export interface Preset {
  name: PresetName;
  /** One line, for --help and errors. */
  description: string;
  /**
   * The module specifiers whose exports are the ORM (a package's subpaths match too; `@scope/*` is
   * every package of the scope). The runtime's are the default `ormModules`; another preset's are
   * always included, and `ormModules` adds modules that re-export it.
   */
  ormModules: readonly string[];
  /** The rules that run under this preset; the others are off whatever the config says. */
  rules: readonly RuleId[];
  /** Default severities that differ from the rules' own (MikroORM throws where our runtime warns). */
  severities?: Partial<Record<RuleId, Severity>>;
  /** Config keys that only mean something for this preset's ORM (others' are errors). */
  configKeys: readonly string[];
  wording: PresetWording;
  /** What a rule means under this preset (SARIF and JSON help), where it differs from the rule's own meta. */
  ruleHelp?: Partial<Record<RuleId, { description: string; help: string }>>;
  /** undefined: the config's `methods` and `connection` say it (the runtime preset). */
  context: ContextModel | undefined;
  entryPoints: EntryPoints | undefined;
  escapeHatch: EscapeHatch;
}

const PRESETS: Record<PresetName, Preset> = {
  runtime: runtimePreset,
  'mikro-orm': mikroOrmPreset,
};

export function presetByName(name: PresetName): Preset {
  return PRESETS[name];
}

/** The config keys some preset owns; a key not owned by the chosen preset is an error. */
export const PRESET_SPECIFIC_KEYS: readonly string[] = [...new Set(Object.values(PRESETS).flatMap((preset) => preset.configKeys))];

export { mikroOrmPreset, runtimePreset };

/**
 * The prefilter of a preset with a context model: its context-needing method names (a file may
 * reach the ORM only through a typed receiver of a project class), what opens a context, the
 * framework decorators whose classes shape the call graph, the escape hatch, and its modules
 * (`@scope/*` as the `@scope/` prefix).
 */
export function presetPrefilterTokens(preset: Preset, ormModules: readonly string[]): { words: string[]; modules: string[] } {
  const model = preset.context;
  const entryPoints = preset.entryPoints;
  const words = [...preset.escapeHatch.env, ...preset.escapeHatch.options];
  if (model) {
    words.push(...model.methods, ...model.openerDecorators, ...model.callbackMethods.keys());
    for (const opener of model.openerCalls) words.push(opener.receiver ?? opener.name);
  }
  if (entryPoints) {
    words.push(...entryPoints.insideClassDecorators, ...entryPoints.insideInterfaceMethods.keys(), ...entryPoints.outsideMethodDecorators, ...entryPoints.outsideClassMethods.keys());
  }
  return { words, modules: ormModules.map((module) => (module.endsWith('/*') ? module.slice(0, -1) : module)) };
}
