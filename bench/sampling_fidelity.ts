/**
 * Statistical fidelity of heap sampling: the heapprofile pattern (1,000,000
 * × 64 B and 10,000 × 8 KiB, half of each kept) over 20 seeds at
 * MemProfileRate 524288 and 4096, and once at rate 1: mean relative error
 * and standard deviation of the un-sampled alloc_space per site, next to
 * real Go 1.19's figures over 20 runs (from issue 4: mean ≈ −0.5 %, sd 8.6 %
 * (64 B) and 7.8 % (8 KiB) at 512 KiB; sd 0.6–0.8 % at 4096; exact at 1).
 * With `go` installed it also runs the real program a few times.
 *
 *   deno run -A bench/sampling_fidelity.ts [--seeds 20] [--go-runs 20]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { heapprofile } from "../lib/workload/heapprofile.ts";
import { Runtime } from "../lib/runtime/runtime.ts";
import { heapSamples } from "../lib/profile/heap.ts";
import { readPprof } from "../lib/profile/proto.ts";
import { buildGoProgram, findGo } from "./_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seeds: { type: "string", default: "20" },
    "go-runs": { type: "string", default: "20" },
  },
});
const SEEDS = Number(values.seeds);
const TRUE = { "main.allocSmall": 64_000_000, "main.allocLarge": 81_920_000 };
type Site = keyof typeof TRUE;

function allocSpace(leafValues: Map<string, number>, site: Site): number {
  return leafValues.get(site) ?? 0;
}

function simulate(rate: number, seed: number): Map<string, number> {
  const rt = new Runtime({ memProfileRate: rate, seed });
  heapprofile(rt);
  const m = new Map<string, number>();
  for (const s of heapSamples(rt).samples) {
    const leaf = s.frames[0]?.func ?? "?";
    m.set(leaf, (m.get(leaf) ?? 0) + s.values[1]);
  }
  return m;
}

function stats(errors: number[]): { mean: number; sd: number } {
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  const sd = Math.sqrt(
    errors.reduce((a, b) => a + (b - mean) ** 2, 0) /
      Math.max(1, errors.length - 1),
  );
  return { mean, sd };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
for (const rate of [524288, 4096, 1]) {
  const n = rate === 1 ? 1 : SEEDS;
  const errs: Record<Site, number[]> = {
    "main.allocSmall": [],
    "main.allocLarge": [],
  };
  for (let seed = 1; seed <= n; seed++) {
    const m = simulate(rate, seed);
    for (const site of Object.keys(TRUE) as Site[]) {
      errs[site].push(allocSpace(m, site) / TRUE[site] - 1);
    }
  }
  for (const site of Object.keys(TRUE) as Site[]) {
    const s = stats(errs[site]);
    console.log(
      `simulated rate ${rate}, ${site}: over ${n} seed(s) mean error ${
        pct(s.mean)
      }, sd ${pct(s.sd)}`,
    );
  }
}

const go = await findGo();
const runs = Number(values["go-runs"]);
if (go === null || runs === 0) {
  console.log("real Go: skipped (no go on PATH, or --go-runs 0)");
} else {
  const dir = await Deno.makeTempDir({ prefix: "alloctrace-fidelity-" });
  try {
    const bin = await buildGoProgram(go, "heapprofile", dir);
    for (const rate of [524288, 4096]) {
      const errs: Record<Site, number[]> = {
        "main.allocSmall": [],
        "main.allocLarge": [],
      };
      for (let i = 0; i < runs; i++) {
        const out = await new Deno.Command(bin, {
          args: ["-rate", String(rate), "-out", `${dir}/r${i}`],
          cwd: dir,
        }).output();
        if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
        const p = await readPprof(await Deno.readFile(`${dir}/r${i}.pb.gz`));
        const m = new Map<string, number>();
        for (const s of p.samples) {
          const leaf = s.frames[0]?.func ?? "?";
          m.set(leaf, (m.get(leaf) ?? 0) + s.values[1]);
        }
        for (const site of Object.keys(TRUE) as Site[]) {
          errs[site].push(allocSpace(m, site) / TRUE[site] - 1);
        }
      }
      for (const site of Object.keys(TRUE) as Site[]) {
        const s = stats(errs[site]);
        console.log(
          `real Go rate ${rate}, ${site}: over ${runs} run(s) mean error ${
            pct(s.mean)
          }, sd ${pct(s.sd)}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
