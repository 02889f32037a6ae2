/**
 * The scripts read files of a directory the user names (fidelity_compare's
 * `--real-traces DIR`): a `#`, `%` or `?` in its path is part of the path,
 * not a URL's fragment, escape or query.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { withTempDir } from "../_run.ts";
import { committedGCTraces, fidelityDir } from "../../scripts/_real_runs.ts";
import { saveRuntimeFrames } from "../../scripts/_runtime_frames.ts";
import { GO119 } from "../_testdata.ts";
import { fileUrl } from "../../scripts/_file_url.ts";

// Each a character a URL reads otherwise, in a folder's and a file's name.
const ODD = "real #1 50% ?x";

/**
 * Copies the committed leak gctrace file into a folder whose path holds
 * {@link ODD}, and asserts that `committedGCTraces`, given that folder as
 * `named(dir)` (the path, or its URL), reads it as it reads the committed
 * one.
 */
async function assertReadsOddFolder(named: (dir: string) => string | URL) {
  await withTempDir(async (tmp) => {
    const dir = `${tmp}/${ODD}`;
    await Deno.mkdir(dir);
    const name = "leak-20000-gctrace.txt";
    await Deno.writeFile(
      `${dir}/${name}`,
      await Deno.readFile(new URL(name, fidelityDir())),
    );
    const want = await committedGCTraces("leak", 20000, "leak -n 20000");
    assertTrue(want.length > 0, "the committed runs are read");
    assertEquals(
      await committedGCTraces("leak", 20000, "leak -n 20000", named(dir)),
      want,
    );
  });
}

Deno.test("committedGCTraces(DIR) reads DIR's gctrace file where DIR's path holds '#', '%', '?' and a space", async () => {
  await assertReadsOddFolder((dir) => dir);
});

Deno.test("saveRuntimeFrames(DIR) reads the traces of a DIR whose path, and a trace's name, hold '#', '%', '?' and a space", async () => {
  await withTempDir(async (tmp) => {
    const dir = `${tmp}/${ODD}`;
    await Deno.mkdir(dir);
    await Deno.writeFile(
      `${dir}/binarytrees #6 %20.gz`,
      await Deno.readFile(new URL("binarytrees-d6.trace.gz", GO119)),
    );
    const n = await saveRuntimeFrames(dir, `${tmp}/frames.txt`, "go1.19");
    assertTrue(n > 0, `${n} frames`);
    assertTrue(
      (await Deno.readTextFile(`${tmp}/frames.txt`)).includes(
        "runtime.mallocgc runtime/malloc.go:",
      ),
    );
  });
});

Deno.test("committedGCTraces(URL of a folder) reads it where the folder's path holds '#', '%', '?' and a space (fidelity_compare passes fidelityDir(go), a URL: review1 #8, its .pathname named no file)", async () => {
  await assertReadsOddFolder((dir) => fileUrl(`${dir}/`));
});
