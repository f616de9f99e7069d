// Entry module of one VU's worker thread. Node 20 neither applies the parent's `--import tsx` loader
// to a worker nor lets a worker's entry be TypeScript, so this plain module registers the k6 hooks,
// which also serve the doubles precompiled by compile.ts, and then loads the VU driver (vu.ts).
import { register } from "node:module";
import { workerData } from "node:worker_threads";

register(new URL("./hooks.mjs", import.meta.url), { data: workerData.hooks });
await import("./vu.ts");
