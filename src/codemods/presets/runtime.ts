/** The default preset: our own runtime (`orm-migrate/runtime`). Its calls and its connection function come from the config. */
import { ALLOW_ASYNC_UNSAFE_ENV, CONNECTION_FUNCTION, RUNTIME_MODULE } from '../../runtime-shim/surface.js';
import { RULE_IDS } from '../engine/types.js';
import type { Preset } from './index.js';

export const runtimePreset: Preset = {
  name: 'runtime',
  description: "orm-migrate's own runtime: async ORM calls need a newConnection() block",
  ormModules: [RUNTIME_MODULE],
  rules: RULE_IDS,
  configKeys: ['methods', 'connection'],
  wording: { context: `${CONNECTION_FUNCTION}() block`, opener: `await ${CONNECTION_FUNCTION}(async () => { … })` },
  context: undefined,
  entryPoints: undefined,
  escapeHatch: { env: [ALLOW_ASYNC_UNSAFE_ENV], options: [] },
};
