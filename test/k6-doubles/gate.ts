// The static half of "would k6 v0.49 load this bundle": parse as an ES2017 module (k6's parser
// floor; object spread, optional chaining, async iteration fail), allow only k6 imports, forbid the
// globals k6's runtime lacks, cap the size. Used by test/syntax-gate.test.ts and, for the parse
// step alone, by the runner (a bundle that fails here would exit 107 under k6).
import { Buffer } from "node:buffer";
import { parse, type Node } from "acorn";

export type Flavour = "plain" | "sql";

export const MAX_BUNDLE_BYTES = 300 * 1024;

/** Free globals that are ReferenceErrors (or unusable) inside k6 v0.49 (shared/k6-runtime.md). */
export const FORBIDDEN_GLOBALS = [
  "BigInt", "process", "require", "Buffer", "fetch", "URL", "URLSearchParams", "TextEncoder", "TextDecoder",
  "structuredClone", "Intl", "btoa", "atob", "setTimeout", "setInterval", "crypto",
] as const;

/**
 * Vendored packages whose forbidden references sit on paths the suite never runs: zod v3 names
 * BigInt (z.bigint()), URL (.url()) and atob (.jwt()) yet loads and validates fine under k6 v0.49
 * (shared/k6-runtime.md). The runner removes those globals, so calling such a path still fails a run.
 */
const EXEMPT_PACKAGES = ["zod"];

const SQL_MODULES = new Set(["k6/x/sql", "k6/x/sql/driver/postgres"]);

export function parseForK6(source: string): Node {
  return parse(source, { ecmaVersion: 2017, sourceType: "module", locations: true });
}

export function importAllowed(specifier: string, flavour: Flavour): boolean {
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
    if (node.type === "ImportSpecifier" || node.type === "ImportDefaultSpecifier" || node.type === "ImportNamespaceSpecifier") {
      names.add((node.local as AnyNode).name as string);
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach((v) => isNode(v) && visit(v, false));
      else if (isNode(value)) visit(value, false);
    }
  };
  visit(scope, true);
  return names;
}

export interface Violation {
  line: number;
  message: string;
}

function freeGlobalViolations(program: AnyNode): Violation[] {
  const found: Violation[] = [];
  const forbidden = new Set<string>(FORBIDDEN_GLOBALS);
  const bound = (scopes: Set<string>[], name: string) => scopes.some((s) => s.has(name));
  const line = (n: AnyNode) => (n.loc as { start: { line: number } } | undefined)?.start.line ?? 0;

  const walk = (node: AnyNode, scopes: Set<string>[], parent: AnyNode | null, key: string): void => {
    if (FUNCTION_TYPES.has(node.type) && node !== program) scopes = [...scopes, declaredIn(node)];
    if (node.type === "Identifier") {
      const name = node.name as string;
      const notReference =
        (parent?.type === "MemberExpression" && key === "property" && !parent.computed) ||
        ((parent?.type === "Property" || parent?.type === "MethodDefinition") && key === "key" && !parent.computed) ||
        (parent?.type === "UnaryExpression" && parent.operator === "typeof") ||
        ["LabeledStatement", "BreakStatement", "ContinueStatement"].includes(parent?.type ?? "") ||
        ["ImportSpecifier", "ExportSpecifier", "MetaProperty"].includes(parent?.type ?? "");
      if (!notReference && forbidden.has(name) && !bound(scopes, name)) {
        found.push({ line: line(node), message: `free reference to \`${name}\`, which k6 v0.49 does not provide` });
      }
      return;
    }
    if (
      node.type === "MemberExpression" && !node.computed &&
      isNode(node.object) && node.object.type === "Identifier" && node.object.name === "Symbol" &&
      isNode(node.property) && node.property.name === "asyncIterator" && !bound(scopes, "Symbol")
    ) {
      found.push({ line: line(node), message: "`Symbol.asyncIterator` is undefined in k6 v0.49" });
    }
    for (const [k, value] of Object.entries(node)) {
      if (Array.isArray(value)) value.forEach((v) => isNode(v) && walk(v, scopes, node, k));
      else if (isNode(value)) walk(value, scopes, node, k);
    }
  };
  walk(program, [declaredIn(program)], null, "");
  return found;
}

/** Line ranges esbuild marks with "// node_modules/<package>/…" section comments (unminified output). */
function exemptLines(source: string): (line: number) => boolean {
  const ranges: [number, number][] = [];
  let open: number | null = null;
  source.split("\n").forEach((text, i) => {
    const header = /^\/\/ (\S+)$/.exec(text);
    if (!header) return;
    if (open !== null) ranges.push([open, i]);
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(header[1]!)?.[1];
    open = pkg && EXEMPT_PACKAGES.includes(pkg) ? i + 1 : null;
  });
  if (open !== null) ranges.push([open, Number.MAX_SAFE_INTEGER]);
  return (line) => ranges.some(([from, to]) => line >= from && line <= to);
}

/** Everything that would stop this bundle from loading or running under k6 v0.49. */
export function gateBundle(source: string, flavour: Flavour): Violation[] {
  const violations: Violation[] = [];
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > MAX_BUNDLE_BYTES) {
    violations.push({ line: 0, message: `bundle is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit` });
  }
  let program: AnyNode;
  try {
    program = parseForK6(source) as AnyNode;
  } catch (err) {
    return [...violations, { line: 0, message: `not an ES2017 module: ${(err as Error).message}` }];
  }
  for (const stmt of program.body as AnyNode[]) {
    const src = stmt.source as AnyNode | null | undefined;
    if (src && typeof src.value === "string" && !importAllowed(src.value, flavour)) {
      violations.push({
        line: (stmt.loc as { start: { line: number } }).start.line,
        message: `import of "${src.value}" is not allowed in a ${flavour} bundle (only k6${flavour === "sql" ? ", k6/* and k6/x/sql[/driver/postgres]" : " and k6/* outside k6/x/"})`,
      });
    }
  }
  const exempt = exemptLines(source);
  return [...violations, ...freeGlobalViolations(program).filter((v) => !exempt(v.line))];
}
