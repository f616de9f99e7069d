// ESM loader hooks (module.register) for the simulated k6: maps the k6 module names to the doubles,
// and refuses what k6 would refuse: unknown k6 modules (a plain k6 has no k6/x/*) and any
// non-k6 import from the bundle itself (k6 cannot resolve npm packages). In a VU thread, which has
// no tsx, it also serves the doubles precompiled by compile.ts.
let modules = {};
let bundleUrl = "";
let compiled = {};

export async function initialize(data) {
  modules = data.modules;
  bundleUrl = data.bundleUrl;
  compiled = data.compiled;
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "k6" || specifier.startsWith("k6/")) {
    const url = modules[specifier];
    if (!url) throw new Error(`unknown module: ${specifier}`);
    return { url, shortCircuit: true };
  }
  const parent = (context.parentURL ?? "").split("?")[0];
  const local = /^(\.{1,2}\/|\/|file:)/.test(specifier);
  if (parent === bundleUrl && !local) {
    throw new Error(`The moduleSpecifier "${specifier}" couldn't be found on local disk; k6 resolves only k6 modules and files`);
  }
  return nextResolve(specifier, context);
}

// k6 treats every script as an ES module, wherever it lies and whatever package.json says.
export async function load(url, context, nextLoad) {
  const source = compiled[url.split("?")[0]];
  if (source !== undefined) return { format: "module", source, shortCircuit: true };
  if (url.split("?")[0] === bundleUrl) {
    const result = await nextLoad(url, { ...context, format: "module" });
    return { ...result, format: "module", shortCircuit: true };
  }
  return nextLoad(url, context);
}
