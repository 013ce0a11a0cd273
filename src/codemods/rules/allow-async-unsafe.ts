import ts from '../typescript.cjs';

import { ALLOW_ASYNC_UNSAFE_ENV } from '../../runtime-shim/surface.js';
import { defineRule } from '../engine/rule-api.js';
import { runtimePreset } from '../presets/runtime.js';
import type { EscapeHatch, Preset } from '../presets/index.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

/** Values that leave the check on: setting one of these is not a finding. */
const OFF_VALUES = new Set(['', '0', 'false', 'no']);

/** The escape hatch's name a node spells (an environment variable or a configuration option), if any. */
function hatchName(node: ts.Node, names: readonly string[]): string | undefined {
  if (ts.isIdentifier(node) || ts.isStringLiteralLike(node)) return names.includes(node.text) ? node.text : undefined;
  if (ts.isComputedPropertyName(node)) return hatchName(node.expression, names);
  return undefined;
}

function setsOff(value: ts.Expression | undefined, hatch: EscapeHatch, isEnv: boolean): boolean {
  if (!value) return false;
  // An option (`allowGlobalContext: false`) is off only when false; an environment variable by its value.
  if (!isEnv) return value.kind === SyntaxKind.FalseKeyword;
  if (ts.isStringLiteralLike(value)) {
    const text = value.text.trim().toLowerCase();
    return hatch.envOnValues ? !hatch.envOnValues.includes(text) : OFF_VALUES.has(text);
  }
  if (ts.isNumericLiteral(value)) return hatch.envOnValues ? !hatch.envOnValues.includes(value.text) : value.text === '0';
  return value.kind === SyntaxKind.FalseKeyword || (ts.isIdentifier(value) && value.text === 'undefined');
}

/**
 * Is this object literal the ORM's options? An argument of one of its option calls (also through
 * a factory's returned object: `forRootAsync({ useFactory: () => ({ … }) })`), typed with one of its
 * option types, or the default export of its config file. Always, when the preset names none.
 */
function isOptionsObject(object: ts.Node, hatch: EscapeHatch, sourceFile: ts.SourceFile): boolean {
  if (!hatch.optionCalls && !hatch.optionTypes) return true;
  const typed = (type: ts.TypeNode | undefined): boolean => {
    if (!type || !ts.isTypeReferenceNode(type)) return false;
    const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
    return hatch.optionTypes?.includes(name) ?? false;
  };
  for (let node: ts.Node = object, depth = 0; node.parent && depth < 12; node = node.parent, depth += 1) {
    const parent = node.parent;
    if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
      if (!parent.arguments?.includes(node as ts.Expression)) return false;
      const callee = parent.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      return name !== undefined && (hatch.optionCalls?.includes(name) ?? false);
    }
    if (ts.isSatisfiesExpression(parent) || ts.isAsExpression(parent)) {
      if (typed(parent.type)) return true;
      continue;
    }
    if (ts.isVariableDeclaration(parent)) return typed(parent.type);
    if (ts.isExportAssignment(parent)) return hatch.optionFiles?.test(sourceFile.fileName) ?? false;
    if (ts.isReturnStatement(parent) && ts.isFunctionLike(parent.parent?.parent)) {
      // `useFactory: () => { return { … }; }`: the function's holder decides.
      node = parent.parent.parent as ts.Node;
      continue;
    }
    const passThrough =
      ts.isParenthesizedExpression(parent) ||
      ts.isArrowFunction(parent) ||
      ts.isFunctionExpression(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isObjectLiteralExpression(parent) ||
      ts.isSpreadAssignment(parent);
    if (!passThrough) return false;
  }
  return false;
}

/** The names that turn the preset's check off: environment variables and configuration options. */
function hatchNames(preset: Preset | undefined): readonly string[] {
  const hatch = (preset ?? runtimePreset).escapeHatch;
  return hatch.options.length === 0 ? hatch.env : [...hatch.env, ...hatch.options];
}

function isAssignmentOperator(kind: ts.SyntaxKind): boolean {
  return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
}

/** Code that turns on ORM_ALLOW_ASYNC_UNSAFE (assignment, an env object, a stub/set call). */
export const allowAsyncUnsafe = defineRule({
  meta: {
    id: 'allow-async-unsafe',
    description: `Code that sets ${ALLOW_ASYNC_UNSAFE_ENV}.`,
    fixable: false,
    defaultSeverity: 'warning',
    help:
      `${ALLOW_ASYNC_UNSAFE_ENV}=1 turns off the SynchronousOnlyOperation check, so sync ORM calls inside a ` +
      'connection block run on the async connection from the event loop — blocking it and sharing the connection ' +
      'unsafely between tasks. Move the sync calls out of the block, or call their async twins, and drop the variable.',
    messages: {
      sets: `Sets ${ALLOW_ASYNC_UNSAFE_ENV}, which turns off the SynchronousOnlyOperation check: call the async twins instead`,
      // The mikro-orm preset (presets/mikro-orm.ts): `allowGlobalContext: true`, MIKRO_ORM_ALLOW_GLOBAL_CONTEXT.
      setsGlobalContext:
        'Sets {{name}}, which lets every caller share the global EntityManager and its identity map instead of failing: open a {{context}} ({{opener}}) where the EntityManager is used, then drop it',
    },
  },
  nodeKinds: [SyntaxKind.BinaryExpression, SyntaxKind.PropertyAssignment, SyntaxKind.ShorthandPropertyAssignment, SyntaxKind.CallExpression],
  appliesTo: (text, surface) => hatchNames(surface.preset).some((name) => text.includes(name)),
  check(node, context) {
    const hatch = (context.preset ?? runtimePreset).escapeHatch;
    const names = hatchNames(context.preset);
    const isEnv = (name: string): boolean => hatch.env.includes(name);
    const report = (name: string): void => {
      if (context.preset.context) {
        context.report({ node, messageId: 'setsGlobalContext', data: { name: `\`${name}\``, context: context.preset.wording.context, opener: context.preset.wording.opener } });
      } else {
        context.report({ node, messageId: 'sets' });
      }
    };
    if (ts.isBinaryExpression(node)) {
      if (!isAssignmentOperator(node.operatorToken.kind)) return;
      const left = node.left;
      const named = ts.isPropertyAccessExpression(left) ? hatchName(left.name, names) : ts.isElementAccessExpression(left) ? hatchName(left.argumentExpression, names) : undefined;
      // Only the environment is assigned to (an option is set on its object, see below).
      if (named !== undefined && isEnv(named) && !setsOff(node.right, hatch, true)) report(named);
      return;
    }
    if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
      const named = hatchName(node.name, names);
      if (named === undefined) return;
      if (!isEnv(named) && !isOptionsObject(node.parent, hatch, context.sourceFile)) return;
      if (ts.isShorthandPropertyAssignment(node) || !setsOff(node.initializer, hatch, isEnv(named))) report(named);
      return;
    }
    // vi.stubEnv('ORM_ALLOW_ASYNC_UNSAFE', '1'), Reflect.set(process.env, 'ORM_ALLOW_ASYNC_UNSAFE', '1') …
    const call = node as ts.CallExpression;
    const index = call.arguments.findIndex((argument) => ts.isStringLiteralLike(argument) && hatchName(argument, names) !== undefined);
    if (index === -1 || index === call.arguments.length - 1) return;
    const named = (call.arguments[index] as ts.StringLiteralLike).text;
    if (!setsOff(call.arguments[index + 1], hatch, isEnv(named))) report(named);
  },
});
