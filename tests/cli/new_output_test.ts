/**
 * `openNewOutput` (native's FILE.PID): a suspended file (its descriptor
 * closed, review1 #3) is opened again at its next write, for append, and
 * only if the temporary is still the file it made.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { openNewOutput } from "../../lib/cli/_output.ts";

const enc = new TextEncoder();

Deno.test("openNewOutput: writes after a suspend go on where the file was", () => {
  const dir = Deno.makeTempDirSync({ prefix: "new-output-" });
  try {
    const out = openNewOutput(`${dir}/t.trace.7`);
    out.write(enc.encode("one\n"));
    out.suspend();
    out.suspend();
    out.write(enc.encode("two\n"));
    out.suspend();
    out.commit();
    assertEquals(out.placed, `${dir}/t.trace.7`);
    assertEquals(Deno.readTextFileSync(`${dir}/t.trace.7`), "one\ntwo\n");
    assertEquals([...Deno.readDirSync(dir)].length, 1, "no temporary left");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openNewOutput: a temporary replaced while suspended is not written: the write fails naming the file, and nothing is placed", () => {
  const dir = Deno.makeTempDirSync({ prefix: "new-output-" });
  try {
    const out = openNewOutput(`${dir}/t.trace.7`);
    out.write(enc.encode("one\n"));
    out.suspend();
    const tmp = [...Deno.readDirSync(dir)][0].name;
    // (Moved, not removed: its inode stays in use, not given to `other`.)
    Deno.renameSync(`${dir}/${tmp}`, `${dir}/moved`);
    Deno.writeTextFileSync(`${dir}/other`, "someone's\n");
    Deno.symlinkSync(`${dir}/other`, `${dir}/${tmp}`);
    let error = "";
    try {
      out.write(enc.encode("two\n"));
    } catch (e) {
      error = (e as Error).message;
    }
    assertTrue(
      error.startsWith(`cannot write ${dir}/t.trace.7: its temporary`),
      error,
    );
    out.abort();
    assertEquals(Deno.readTextFileSync(`${dir}/other`), "someone's\n");
    assertEquals(Deno.readTextFileSync(`${dir}/moved`), "one\n");
    assertEquals(out.placed, null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openNewOutput: with nothing written, commit makes no file (review1 #6)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "new-output-" });
  try {
    const out = openNewOutput(`${dir}/t.trace.7`);
    out.suspend();
    out.commit();
    assertEquals(out.placed, null);
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
