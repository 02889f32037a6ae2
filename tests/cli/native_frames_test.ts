/**
 * Frames of the C library are named by their module (no source file): a
 * line number after a library path would point nowhere.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace, withTempDir } from "../_run.ts";
import { skip } from "../native/_support.ts";

if (skip) console.log(`native_frames: skipped: ${skip}`);

Deno.test({
  name: "native: a frame shown by its library path carries no line number",
  ignore: skip !== "",
  async fn() {
    await withTempDir(async (dir) => {
      const t = `${dir}/ls.trace`;
      const r = await alloctrace([
        "native",
        "-q",
        "--trace-out",
        t,
        "--",
        "/bin/ls",
        "/",
      ], ["-A"]);
      assertEquals(r.code, 0, r.stderr);
      const frames = (await Deno.readTextFile(t)).split("\n")
        .filter((l) => l.startsWith("\t#"));
      const libc = frames.filter((l) => /\/libc\.so\.6:\d+$/.test(l));
      assertTrue(libc.length > 0, frames.slice(0, 5).join("\n"));
      for (const l of libc) assertTrue(l.endsWith("libc.so.6:0"), l);
    });
  },
});
