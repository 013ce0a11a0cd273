/**
 * Roots that run one after another in the same request: an Express/Koa middleware registered with
 * `app.use(…)` (or an earlier handler of the same route call) that hands the request on with
 * `next()`, and the handlers registered after it on the same app or router. Each is a root of its
 * own to scan, but they are one unit of work: the middleware loads `req.user`, the handler changes
 * it and flushes. A context per root would give them two forks, and the handler's flush would not
 * see the middleware's entities (the change is silently lost). So a handler after a middleware the
 * fix wraps is covered by that middleware's context (its body, `next()` included, runs in it, and
 * scan counts a middleware that calls `RequestContext.create` as a context middleware), and one
 * after a middleware that stays manual stays manual too.
 */
import ts from '../../typescript.cjs';
import { unwrapExpression } from '../../engine/syntactic-scope.js';

/** Methods that register a middleware or a route handler on an Express/Koa app or router. */
const REGISTERING_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'del', 'all', 'head', 'options', 'use']);

export interface Registration {
  /** The app or router's name (`app`, `router`). */
  receiver: string;
  method: string;
  call: ts.CallExpression;
  /** The function's position among the call's arguments. */
  index: number;
}

function registrationAt(argument: ts.Node): Registration | undefined {
  const call = argument.parent;
  if (!call || !ts.isCallExpression(call)) return undefined;
  const index = call.arguments.indexOf(argument as ts.Expression);
  if (index < 0) return undefined;
  const callee = unwrapExpression(call.expression);
  if (!ts.isPropertyAccessExpression(callee) || !REGISTERING_METHODS.has(callee.name.text)) return undefined;
  const receiver = unwrapExpression(callee.expression);
  if (!ts.isIdentifier(receiver)) return undefined;
  return { receiver: receiver.text, method: callee.name.text, call, index };
}

/** The name a function is known by in its file (`function auth`, `const auth = async (…) => …`). */
function nameOf(fn: ts.Node): string | undefined {
  if (ts.isFunctionDeclaration(fn) && fn.name) return fn.name.text;
  let node: ts.Node = fn;
  while (node.parent && (ts.isParenthesizedExpression(node.parent) || ts.isAsExpression(node.parent) || ts.isSatisfiesExpression(node.parent))) node = node.parent;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isIdentifier(parent.name)) return parent.name.text;
  return undefined;
}

/**
 * Where the function is registered as a middleware or route handler in its own file: inline
 * (`app.use(async (req, res, next) => …)`), or by name (`app.get('/me', auth, me)`); the first
 * registration when there are several.
 */
export function registrationOf(fn: ts.Node, sourceFile: ts.SourceFile): Registration | undefined {
  let node: ts.Node = fn;
  while (node.parent && (ts.isParenthesizedExpression(node.parent) || ts.isAsExpression(node.parent))) node = node.parent;
  const inline = registrationAt(node);
  if (inline) return inline;
  const name = nameOf(fn);
  if (!name) return undefined;
  let found: Registration | undefined;
  const visit = (child: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(child) && child.text === name && child.parent && ts.isCallExpression(child.parent) && child.parent.arguments.includes(child)) {
      found = registrationAt(child);
      if (found) return;
    }
    ts.forEachChild(child, visit);
  };
  visit(sourceFile);
  return found;
}

/** Does the middleware hand the request on: its last parameter (`next`) is called in its body? */
export function passesOn(fn: ts.Node): boolean {
  if (!ts.isFunctionLike(fn) || fn.parameters.length < 2) return false;
  const last = fn.parameters[fn.parameters.length - 1];
  if (!last || !ts.isIdentifier(last.name)) return false;
  const name = last.name.text;
  const body = (fn as ts.FunctionLikeDeclaration).body;
  if (!body) return false;
  let called = false;
  const visit = (node: ts.Node): void => {
    if (called) return;
    if (ts.isCallExpression(node) && ts.isIdentifier(unwrapExpression(node.expression)) && (unwrapExpression(node.expression) as ts.Identifier).text === name) called = true;
    else ts.forEachChild(node, visit);
  };
  visit(body);
  return called;
}

/**
 * Does `later` run after `earlier` for a request that reaches both: the same app or router, and
 * either an earlier argument of the same route call, or a `use` middleware registered by a
 * statement before it (in its block or an enclosing one), as Express and Koa run them in order.
 */
export function runsAfter(later: Registration, earlier: Registration): boolean {
  if (later.receiver !== earlier.receiver) return false;
  if (later.call === earlier.call) return earlier.index < later.index;
  if (earlier.method !== 'use') return false;
  const statement = earlier.call.parent;
  if (!statement || !ts.isExpressionStatement(statement) || unwrapExpression(statement.expression) !== earlier.call) return false;
  for (let node: ts.Node = later.call; node.parent; node = node.parent) {
    const parent = node.parent;
    if (!ts.isBlock(parent) && !ts.isSourceFile(parent) && !ts.isModuleBlock(parent)) continue;
    for (const sibling of parent.statements) {
      if (sibling === node) break;
      if (sibling === statement) return true;
    }
  }
  return false;
}

const CONTINUATIONS = new Set(['then', 'catch', 'finally']);

/**
 * A callback that continues a promise chain (`loadAuthor(orm, id).then(async (author) => …)`):
 * the name of the function whose call starts the chain (`loadAuthor`), and that call. The callback
 * gets what that call resolves to (entities it loaded), so the two are one unit of work: a context
 * for each would put the entities in one fork and the callback's flush in another.
 */
export function continuedCall(fn: ts.Node): { name: string; call: ts.CallExpression } | undefined {
  let node: ts.Node = fn;
  while (node.parent && ts.isParenthesizedExpression(node.parent)) node = node.parent;
  const call = node.parent;
  if (!call || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return undefined;
  let callee = unwrapExpression(call.expression);
  if (!ts.isPropertyAccessExpression(callee) || !CONTINUATIONS.has(callee.name.text)) return undefined;
  let head = unwrapExpression(callee.expression);
  while (ts.isCallExpression(head)) {
    callee = unwrapExpression(head.expression);
    if (ts.isPropertyAccessExpression(callee) && CONTINUATIONS.has(callee.name.text)) {
      head = unwrapExpression(callee.expression);
      continue;
    }
    const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
    return name ? { name, call: head } : undefined;
  }
  return undefined;
}

/** Timers and queues: Node runs their callbacks in the AsyncLocalStorage context they were scheduled in. */
const SCHEDULERS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'nextTick']);

/**
 * A callback handed to a timer (`setTimeout(async () => …)`): the functions around it, innermost
 * first (their start offsets). At run time it inherits the RequestContext it is scheduled in
 * (AsyncLocalStorage follows timers), so it shares that context's fork with the code around it.
 */
export function scheduledIn(fn: ts.Node): number[] | undefined {
  let node: ts.Node = fn;
  while (node.parent && ts.isParenthesizedExpression(node.parent)) node = node.parent;
  const call = node.parent;
  if (!call || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return undefined;
  const callee = unwrapExpression(call.expression);
  const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
  if (!name || !SCHEDULERS.has(name)) return undefined;
  const around: number[] = [];
  for (let parent = call.parent; parent; parent = parent.parent) if (ts.isFunctionLike(parent)) around.push(parent.getStart());
  return around;
}
