// The static half of "would k6 v0.49 load this bundle fast": k6 v0.49 wraps a script in
// `(function(module, exports){ ... })` and parses it with goja; only when that fails does it send the
// script through Babel (js/compiler/compiler.go), which costs 18+ s and 1.5 GB at every start. So a
// bundle must parse, wrapped, as an ES2017 script: no import/export (ES modules), no object spread,
// optional chaining or async iteration. It may `require()` only k6 modules of its flavour, at the top
// level (k6 v0.49 unsets `require` after init), use no global k6 lacks, stay under the size cap, and a
// dist/sql bundle must open with the "use k6 with k6/x/sql" directives that k6 >= 1.2 reads from the
// file's first statements. Used by test/syntax-gate.test.ts and, to load a script as k6 does, by the k6 doubles.
import { Buffer } from "node:buffer";
import { parse, type Node } from "acorn";

type Flavour = "plain" | "sql";

export const MAX_BUNDLE_BYTES = 300 * 1024;

/** Free globals that are ReferenceErrors (or unusable) inside k6 v0.49, as measured with a real k6 v0.49. */
export const FORBIDDEN_GLOBALS = [
  "BigInt",
  "process",
  "Buffer",
  "fetch",
  "URL",
  "URLSearchParams",
  "TextEncoder",
  "TextDecoder",
  "structuredClone",
  "Intl",
  "btoa",
  "atob",
  "setTimeout",
  "setInterval",
  "crypto",
] as const;

const SQL_MODULES = new Set(["k6/x/sql", "k6/x/sql/driver/postgres"]);
const ALLOWED: Record<Flavour, string> = { plain: " and k6/* outside k6/x/", sql: ", k6/* and k6/x/sql[/driver/postgres]" };
/** What k6 >= 1.2 needs at the top of a dist/sql bundle to provision xk6-sql on its own. */
const SQL_DIRECTIVE = /^"use k6 with k6\/x\/sql[ "]/;

/** k6 v0.49's own wrapping of a script (js/compiler/compiler.go); the first line is the wrapper's. */
export function wrapLikeK6(source: string): string {
  return `(function(module, exports){\n${source}\n})\n`;
}

/** Parses a script the way k6 v0.49 does before it would fall back to Babel; throws when it would. */
export function parseForK6(source: string): Node {
  return parse(wrapLikeK6(source), { ecmaVersion: 2017, sourceType: "script", locations: true });
}

function importAllowed(specifier: string, flavour: Flavour): boolean {
  if (specifier === "k6") return true;
  if (!specifier.startsWith("k6/")) return false;
  if (!specifier.startsWith("k6/x/")) return true;
  return flavour === "sql" && SQL_MODULES.has(specifier);
}

type AnyNode = Node & Record<string, unknown>;
const isNode = (v: unknown): v is AnyNode => typeof v === "object" && v !== null && typeof (v as Node).type === "string";

const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

/** Names bound by a pattern (params, declarators, catch clauses). */
function patternNames(pattern: AnyNode | null | undefined, out: Set<string>): void {
  if (!pattern) return;
  switch (pattern.type) {
    case "Identifier":
      out.add(pattern.name as string);
      break;
    case "ObjectPattern":
      for (const p of pattern.properties as AnyNode[]) patternNames((p.type === "RestElement" ? p.argument : p.value) as AnyNode, out);
      break;
    case "ArrayPattern":
      for (const e of pattern.elements as (AnyNode | null)[]) patternNames(e, out);
      break;
    case "RestElement":
      patternNames(pattern.argument as AnyNode, out);
      break;
    case "AssignmentPattern":
      patternNames(pattern.left as AnyNode, out);
      break;
  }
}

/** Every name declared inside one function (or the program), not descending into nested functions. */
function declaredIn(scope: AnyNode): Set<string> {
  const names = new Set<string>();
  if (FUNCTION_TYPES.has(scope.type)) {
    for (const p of scope.params as AnyNode[]) patternNames(p, names);
    if (scope.type === "FunctionExpression" && scope.id) names.add((scope.id as AnyNode).name as string);
  }
  const visit = (node: AnyNode, top: boolean): void => {
    if (!top && FUNCTION_TYPES.has(node.type)) {
      if (node.type === "FunctionDeclaration" && node.id) names.add((node.id as AnyNode).name as string);
      return;
    }
    if (node.type === "VariableDeclarator") patternNames(node.id as AnyNode, names);
    if (node.type === "ClassDeclaration" && node.id) names.add((node.id as AnyNode).name as string);
    if (node.type === "CatchClause") patternNames(node.param as AnyNode, names);
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) for (const v of value.filter(isNode)) visit(v, false);
      else if (isNode(value)) visit(value, false);
    }
  };
  visit(scope, true);
  return names;
}

interface Violation {
  line: number;
  message: string;
}

const REQUIRE_RULE =
  "`require()` is k6 v0.49's init-time loader (unset once init ends): call it with a k6 module name at the top level, " +
  "or in a function that only init-time code calls";

/** esbuild's lazy module: `var init_x = __esm({ "path"() { body } })`; its body runs when init_x() is first called. */
function lazyInitialiser(declarator: AnyNode): { name: string; body: AnyNode } | null {
  const call = declarator.init as AnyNode | null;
  if (!isNode(declarator.id) || declarator.id.type !== "Identifier" || !call || call.type !== "CallExpression") return null;
  if (!isNode(call.callee) || call.callee.name !== "__esm") return null;
  const fn = ((call.arguments as AnyNode[])[0]?.properties as AnyNode[] | undefined)?.[0]?.value as AnyNode | undefined;
  return fn && fn.type === "FunctionExpression" ? { name: declarator.id.name as string, body: fn } : null;
}

/** Where code runs, as far as k6 v0.49's require() is concerned. */
interface Place {
  /** Functions entered; 1 is k6's own wrapper, that is the bundle's top level (its init code). */
  depth: number;
  /** The named top-level function (or esbuild initialiser) whose body this is, when it is one. */
  fn: string | null;
}

/** Forbidden globals, and every `require` that k6 v0.49 would refuse (run after init, non-literal, not k6). */
function freeGlobalViolations(program: AnyNode, flavour: Flavour): Violation[] {
  const found: Violation[] = [];
  const forbidden = new Set<string>(FORBIDDEN_GLOBALS);
  const bound = (scopes: Set<string>[], name: string) => scopes.some((s) => s.has(name));
  // Source lines: the wrapper adds one line on top.
  const line = (n: AnyNode) => ((n.loc as { start: { line: number } } | undefined)?.start.line ?? 1) - 1;
  /** Bodies of top-level function declarations and esbuild initialisers, by the name that starts them. */
  const named = new Map<AnyNode, string>();
  const callsOf = new Map<string, Place[]>();
  const escaped = new Set<string>();
  const requiresIn = new Map<string, AnyNode[]>();

  const requireCall = (call: AnyNode, place: Place): void => {
    const [arg, ...rest] = call.arguments as AnyNode[];
    const specifier = arg?.type === "Literal" && typeof arg.value === "string" && rest.length === 0 ? arg.value : null;
    if (specifier === null || (place.depth !== 1 && place.fn === null)) found.push({ line: line(call), message: REQUIRE_RULE });
    else if (!importAllowed(specifier, flavour)) {
      found.push({
        line: line(call),
        message: `require of "${specifier}" is not allowed in a ${flavour} bundle (only k6${ALLOWED[flavour]})`,
      });
    } else if (place.fn !== null) requiresIn.set(place.fn, [...(requiresIn.get(place.fn) ?? []), call]);
  };

  const walk = (node: AnyNode, scopes: Set<string>[], place: Place, parent: AnyNode | null, key: string): void => {
    if (node.type === "VariableDeclarator") {
      const lazy = lazyInitialiser(node);
      if (lazy) named.set(lazy.body, lazy.name);
    }
    if (node.type === "FunctionDeclaration" && place.depth === 1 && isNode(node.id)) named.set(node, node.id.name as string);
    if (FUNCTION_TYPES.has(node.type)) {
      scopes = [...scopes, declaredIn(node)];
      const depth = place.depth + 1;
      place = { depth, fn: depth === 2 ? (named.get(node) ?? null) : null };
    }
    if (node.type === "CallExpression" && isNode(node.callee) && node.callee.type === "Identifier") {
      const callee = node.callee.name as string;
      if (callee === "require" && !bound(scopes, "require")) {
        requireCall(node, place);
        for (const a of node.arguments as AnyNode[]) walk(a, scopes, place, node, "arguments");
        return;
      }
      callsOf.set(callee, [...(callsOf.get(callee) ?? []), place]);
    }
    if (node.type === "Identifier") {
      const name = node.name as string;
      const declaration = (parent?.type === "FunctionDeclaration" || parent?.type === "VariableDeclarator") && key === "id";
      const notReference =
        declaration ||
        (parent?.type === "MemberExpression" && key === "property" && !parent.computed) ||
        ((parent?.type === "Property" || parent?.type === "MethodDefinition") && key === "key" && !parent.computed) ||
        (parent?.type === "UnaryExpression" && parent.operator === "typeof") ||
        ["LabeledStatement", "BreakStatement", "ContinueStatement"].includes(parent?.type ?? "");
      if (!notReference && !(parent?.type === "CallExpression" && key === "callee")) escaped.add(name);
      if (!notReference && !bound(scopes, name)) {
        if (forbidden.has(name)) {
          found.push({ line: line(node), message: `free reference to \`${name}\`, which k6 v0.49 does not provide` });
        } else if (name === "require") found.push({ line: line(node), message: REQUIRE_RULE });
      }
      return;
    }
    if (
      node.type === "MemberExpression" &&
      !node.computed &&
      isNode(node.object) &&
      node.object.type === "Identifier" &&
      node.object.name === "Symbol" &&
      isNode(node.property) &&
      node.property.name === "asyncIterator" &&
      !bound(scopes, "Symbol")
    ) {
      found.push({ line: line(node), message: "`Symbol.asyncIterator` is undefined in k6 v0.49" });
    }
    for (const [k, value] of Object.entries(node)) {
      if (Array.isArray(value)) for (const v of value.filter(isNode)) walk(v, scopes, place, node, k);
      else if (isNode(value)) walk(value, scopes, place, node, k);
    }
  };
  walk(program, [declaredIn(program)], { depth: 0, fn: null }, null, "");

  // A function runs during init when it is only ever called, never passed on (k6 calls exported ones
  // later), and every call is init code itself: at the top level or in the body of such a function.
  const atInit = new Map<string, boolean>();
  const runsAtInit = (name: string): boolean => {
    const known = atInit.get(name);
    if (known !== undefined) return known;
    atInit.set(name, true); // a cycle adds no later call
    const initCall = (c: Place) => c.depth === 1 || (c.depth === 2 && c.fn !== null && runsAtInit(c.fn));
    const ok = !escaped.has(name) && (callsOf.get(name) ?? []).every(initCall);
    atInit.set(name, ok);
    return ok;
  };
  for (const [name, calls] of requiresIn) {
    if (runsAtInit(name)) continue;
    for (const call of calls) found.push({ line: line(call), message: `${REQUIRE_RULE}: ${name}() may run after init` });
  }
  return found;
}

/** Why a script fails k6 v0.49's fast path: ES module syntax, or syntax past ES2017. */
function parseFailure(source: string, err: Error): string {
  try {
    parse(source, { ecmaVersion: 2017, sourceType: "module" });
    return "ES module syntax (import/export): k6 v0.49-v0.52 send it through Babel at every start (18+ s, 1.5 GB); bundle as CommonJS";
  } catch {
    return `not an ES2017 script: ${err.message.replace(/\((\d+):(\d+)\)$/, (_m, l: string, c: string) => `(${Number(l) - 1}:${c})`)}`;
  }
}

/** The "use k6 ..." strings k6 >= 1.2 reads from the start of a file (internal/cmd/launcher.go findDirectives). */
function leadingDirectives(source: string): string[] {
  const found: string[] = [];
  const re = /\s*(?:;|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/|"([^"]*)"|'([^']*)')/y;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const text = m[1] ?? m[2];
    if (text !== undefined) found.push(text);
  }
  return found;
}

/** Everything that would stop this bundle from loading, or from loading fast, under k6 v0.49. */
export function gateBundle(source: string, flavour: Flavour): Violation[] {
  const violations: Violation[] = [];
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > MAX_BUNDLE_BYTES) {
    violations.push({ line: 0, message: `bundle is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit` });
  }
  const sqlDirective = leadingDirectives(source).some((d) => SQL_DIRECTIVE.test(`"${d} `));
  if (flavour === "sql" && !sqlDirective) {
    const message = 'a dist/sql bundle must start with "use k6 with k6/x/sql ..." so that k6 >= 1.2 can provision xk6-sql';
    violations.push({ line: 1, message });
  }
  let program: AnyNode;
  try {
    program = parseForK6(source) as AnyNode;
  } catch (err) {
    return [...violations, { line: 0, message: parseFailure(source, err as Error) }];
  }
  return [...violations, ...freeGlobalViolations(program, flavour)];
}
