import { assertEquals, assertThrows, assertTrue } from "../_assert.ts";
import { GO119 } from "../_testdata.ts";
import { run, withTempDir } from "../_run.ts";
import { tabwrite } from "../../lib/profile/_tabwriter.ts";
import {
  folded,
  heapprofile,
  heapProfileProto,
  heapSamples,
  leak,
  readPprof,
  Runtime,
  writeHeapProfileText,
} from "../../mod.ts";
import { findGo } from "../../bench/_go.ts";

Deno.test("tabwriter: re-aligning real Go 1.19 text profiles gives back their exact bytes", async () => {
  for (const f of ["heap/rate-1.txt", "heap/rate-524288.txt"]) {
    const real = await Deno.readTextFile(new URL(f, GO119));
    const unaligned = real.replace(/\t+/g, "\t");
    assertEquals(tabwrite(unaligned), real, f);
  }
});

/** Sums of [alloc_objects, alloc_space, inuse_objects, inuse_space] per leaf function. */
function byLeaf(samples: { values: number[]; frames: { func: string }[] }[]) {
  const m = new Map<string, number[]>();
  for (const s of samples) {
    const leaf = s.frames[0]?.func ?? "?";
    const acc = m.get(leaf) ?? [0, 0, 0, 0];
    s.values.forEach((v, i) => (acc[i] += v));
    m.set(leaf, acc);
  }
  return m;
}

Deno.test("reader: real Go 1.19 profiles at rate 1 give the true totals exactly", async () => {
  const truth = JSON.parse(
    await Deno.readTextFile(new URL("heap/rate-1.truth.json", GO119)),
  );
  const p = await readPprof(
    await Deno.readFile(new URL("heap/rate-1.pb.gz", GO119)),
    "rate-1.pb.gz",
  );
  assertEquals(p.sampleTypes, [
    "alloc_objects",
    "alloc_space",
    "inuse_objects",
    "inuse_space",
  ]);
  assertEquals(p.period, 1);
  const leaf = byLeaf(p.samples);
  for (const site of ["main.allocSmall", "main.allocLarge"]) {
    const t = truth.sites[site];
    assertEquals(leaf.get(site), [
      t.alloc_objects,
      t.alloc_space,
      t.inuse_objects,
      t.inuse_space,
    ], site);
  }
});

Deno.test("reader: a real Go 1.19 profile at rate 524288 is within sampling error of the truth", async () => {
  const truth = JSON.parse(
    await Deno.readTextFile(new URL("heap/rate-524288.truth.json", GO119)),
  );
  const p = await readPprof(
    await Deno.readFile(new URL("heap/rate-524288.pb.gz", GO119)),
  );
  const leaf = byLeaf(p.samples);
  // The figures the testdata README states for this very file.
  assertEquals(leaf.get("main.allocSmall"), [
    1114180,
    71307520,
    565282,
    36178080,
  ]);
  assertEquals(leaf.get("main.allocLarge"), [9675, 79259199, 4708, 38572810]);
  for (const site of ["main.allocSmall", "main.allocLarge"]) {
    const t = truth.sites[site];
    const got = leaf.get(site)!;
    // ±10% per run is normal at this rate; allow 20% for a single file.
    assertTrue(
      Math.abs(got[1] / t.alloc_space - 1) < 0.2,
      `${site} alloc_space ${got[1]}`,
    );
    assertTrue(
      Math.abs(got[3] / t.inuse_space - 1) < 0.2,
      `${site} inuse_space ${got[3]}`,
    );
  }
});

Deno.test("reader: a corrupt or foreign file is a SyntaxError naming the file and what was expected", async () => {
  const text = new TextEncoder().encode("heap profile: 1: 2 [3: 4] @ heap/2\n");
  await assertRejects(
    () => readPprof(text, "x.txt"),
    SyntaxError,
    /x\.txt: not a pprof profile: expected/,
  );
  const gz = await Deno.readFile(new URL("heap/rate-1.pb.gz", GO119));
  await assertRejects(
    () => readPprof(gz.slice(0, gz.length / 2), "cut.pb.gz"),
    SyntaxError,
    /cut\.pb\.gz: not a pprof profile: the gzip stream is corrupt or truncated/,
  );
});

async function assertRejects(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
  re: RegExp,
) {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assertThrows(
    () => {
      if (err !== undefined) throw err;
    },
    cls,
    re,
  );
}

Deno.test("our profile reads back with the text writer's totals; folded stacks sum to them", async () => {
  const rt = new Runtime({ memProfileRate: 1 });
  leak(rt, { n: 100 });
  const p = await readPprof(await heapProfileProto(rt));
  const text = writeHeapProfileText(rt);
  const head = /^heap profile: (\d+): (\d+) \[(\d+): (\d+)\]/.exec(text)!;
  const sum = [0, 0, 0, 0];
  for (const s of p.samples) s.values.forEach((v, i) => (sum[i] += v));
  assertEquals(sum, [
    Number(head[3]),
    Number(head[4]),
    Number(head[1]),
    Number(head[2]),
  ]);
  const f = folded(heapSamples(rt).samples, "alloc_space");
  const total = f.trim().split("\n").reduce(
    (a, l) => a + Number(l.slice(l.lastIndexOf(" ") + 1)),
    0,
  );
  assertEquals(total, Number(head[4]));
  assertTrue(f.includes("runtime.main;main.main;main.newRecord 4800\n"), f);
});

const go = await findGo();
Deno.test({
  name:
    "go tool pprof reads our .pb.gz and shows the text writer's totals per function",
  ignore: go === null,
  async fn() {
    const rt = new Runtime({ memProfileRate: 1 });
    heapprofile(rt, { small: 20000, large: 200 });
    await withTempDir(async (dir) => {
      const file = `${dir}/sim.pb.gz`;
      await Deno.writeFile(file, await heapProfileProto(rt));
      const text = writeHeapProfileText(rt);
      // Text writer: per leaf function (the first # line of each record), alloc bytes.
      const want = new Map<string, number>();
      for (const rec of text.split("\n\n")) {
        const m = /\[(\d+): (\d+)\] @.*\n#\t0x[0-9a-f]+\t([^+]+)\+/.exec(rec);
        if (m) want.set(m[3], (want.get(m[3]) ?? 0) + Number(m[2]));
      }
      assertEquals([...want.keys()].sort(), [
        "main.allocLarge",
        "main.allocSmall",
        "main.keepSlices",
      ]);
      for (const [fn, bytes] of want) {
        const r = await run(go!, [
          "tool",
          "pprof",
          "-top",
          "-sample_index=alloc_space",
          "-unit=B",
          `-show=^${fn.replace(/[.()*]/g, "\\$&")}$`,
          file,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const row = r.stdout.split("\n").find((l) =>
          l.trim().endsWith(" " + fn)
        );
        assertTrue(row !== undefined, `${fn} missing in:\n${r.stdout}`);
        const flat = Number(row!.trim().split(/\s+/)[0].replace(/B$/, ""));
        assertEquals(flat, bytes, fn);
      }
      const raw = await run(go!, ["tool", "pprof", "-raw", file]);
      assertEquals(raw.code, 0, raw.stderr);
      assertTrue(
        raw.stdout.includes("PeriodType: space bytes\nPeriod: 1\n"),
        raw.stdout,
      );
      assertTrue(
        raw.stdout.includes(
          "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes",
        ),
      );
    });
  },
});
if (go === null) {
  console.log(
    "writers_test: go tool pprof test skipped: no go on PATH (apt-get install golang-1.19-go)",
  );
}

Deno.test("pprof: the bytes label is the record's block size, not the un-sampled ratio (Go's protomem.go)", async () => {
  const { Profile } = await import("npm:pprof-format@2.3.2");
  const { gunzip } = await import("../../lib/profile/gzip.ts");
  const rt = new Runtime({ memProfileRate: 524288 });
  const u8 = rt.types.get("uint8");
  const keep = rt.global("main.keep");
  // A 4,005,888-byte block (489 pages) is always sampled; scaled, its bytes are not a multiple of it.
  rt.call(
    "main.main",
    "main.go",
    10,
    () => rt.setGlobal(keep, rt.makeslice(u8, 4_000_000)),
  );
  rt.GC();
  const p = Profile.decode(await gunzip(await heapProfileProto(rt)));
  const big = p.sample.find((s) => Number(s.value[1]) > 4_000_000)!;
  const label = big.label.find((l) =>
    p.stringTable.strings[Number(l.key)] === "bytes"
  )!;
  assertEquals(Number(label.num), 4_005_888);
  assertTrue(Number(big.value[1]) !== 4_005_888, "alloc_space is un-sampled");
});

Deno.test("text profile: each stack lists as many PCs as Go 1.19's for the same site, with no extra leading runtime PC (heap/rate-1.txt)", async () => {
  // Per leaf function of the program (main.*): the PC counts of its records' `@` lines.
  const pcs = (text: string) => {
    const m = new Map<string, Set<number>>();
    for (const rec of text.split("\n\n")) {
      const at =
        /^\d+: \d+ \[\d+: \d+\] @((?: 0x[0-9a-f]+)+)\n#\t0x[0-9a-f]+\t(main\.[^+]+)\+/m
          .exec(rec);
      if (at === null) continue;
      const set = m.get(at[2]) ?? new Set<number>();
      set.add(at[1].trim().split(" ").length);
      m.set(at[2], set);
    }
    return m;
  };
  const real = pcs(
    await Deno.readTextFile(new URL("heap/rate-1.txt", GO119)),
  );
  const rt = new Runtime({ memProfileRate: 1 });
  heapprofile(rt, { small: 2000, large: 20 });
  const sim = pcs(writeHeapProfileText(rt));
  // Go prints 4 PCs for these (leaf, main.main, runtime.main, goexit).
  for (
    const leaf of ["main.allocLarge", "main.allocSmall", "main.keepSlices"]
  ) {
    assertEquals([...real.get(leaf)!], [4], leaf);
    assertEquals([...(sim.get(leaf) ?? [])], [...real.get(leaf)!], leaf);
  }
});
