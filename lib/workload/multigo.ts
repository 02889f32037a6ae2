/**
 * Many goroutines on several Ps: `main.main` starts `workers` goroutines
 * (`go main.worker(i)`), and they take turns processing jobs. Each job
 * allocates a `main.Job` (64 B, pointerful), a 1-KiB request buffer, a
 * `main.Result` with a formatted string; every 8th result is kept in a
 * global results slice (grown by append), the rest are dropped. Workers run
 * on P `id mod GOMAXPROCS`, so their mcaches, tiny blocks and sampling
 * countdowns are separate.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";

const FILE = "alloctrace/workloads/multigo/main.go";

/**
 * Runs the multigo pattern.
 *
 * @throws {RangeError} for a bad count.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { multigo } from "../../mod.ts";
 * const rt = new Runtime({ gomaxprocs: 4 });
 * const r = multigo(rt, { workers: 4, jobs: 100 });
 * if (r.kept !== 13 || rt.allgs.filter((g) => g.kind === "user").length !== 5) throw new Error();
 * ```
 */
export function multigo(
  rt: Runtime,
  opts: { workers?: number; jobs?: number } = {},
): { jobs: number; kept: number } {
  const workers = opts.workers ?? 8;
  const jobs = opts.jobs ?? 1000;
  for (
    const [k, v, min] of [["workers", workers, 1], ["jobs", jobs, 0]] as const
  ) {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new RangeError(
        `multigo: ${k} must be an integer ≥ ${min}, got ${v}`,
      );
    }
  }
  const Job = rt.types.define("main.Job", { size: 64, pointers: [1, 4] });
  const Result = rt.types.define("main.Result", { size: 32, pointers: [0, 2] });
  const pResult = rt.types.get("*main.Result");
  const u8 = rt.types.get("uint8");
  const gResults = rt.global("main.results");
  const main = rt.curg;
  const fMain = rt.func("main.main", FILE);
  const fProcess = rt.func("main.process", FILE);
  const fFormat = rt.func("main.format", FILE);
  const fRecord = rt.func("main.record", FILE);
  let len = 0;
  let cap = 0;
  let done = 0;
  main.enter(fMain, 31);
  const gs = [];
  for (let i = 0; i < workers; i++) gs.push(rt.newg("main.worker", FILE, 44));
  const perWorker = Math.ceil(jobs / workers);
  for (let round = 0; round < perWorker; round++) {
    for (const g of gs) {
      if (done === jobs) break;
      rt.switchTo(g);
      g.setLine(46);
      g.enter(fProcess, 52);
      const job = g.push(rt.newobject(Job));
      g.setLine(53);
      rt.store(g.get(job), 1, rt.makeslice(u8, 1024));
      g.setLine(54);
      g.enter(fFormat, 62);
      const str = rt.concatstring(24 + (done % 17));
      g.leave();
      const s = g.push(str);
      g.setLine(55);
      const r = rt.newobject(Result);
      rt.store(r, 0, g.get(s));
      g.leave();
      const res = g.push(r); // the result stays live in the worker's frame
      if (done % 8 === 0) {
        g.setLine(47);
        g.enter(fRecord, 70);
        if (len === cap) {
          const grown = rt.growslice(
            pResult,
            rt.getGlobal(gResults),
            len,
            cap,
            len + 1,
          );
          rt.setGlobal(gResults, grown.addr);
          cap = grown.cap;
        }
        rt.store(rt.getGlobal(gResults), len++, g.get(res));
        g.leave();
      }
      g.sp = 0;
      done++;
      rt.gosched();
    }
  }
  for (const g of gs) rt.exitg(g, main);
  rt.switchTo(main);
  main.setLine(38);
  rt.GC();
  main.leave();
  return { jobs: done, kept: len };
}
