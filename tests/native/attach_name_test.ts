/**
 * `alloctrace native -p PID` names the program it attached to by its
 * executable and arguments (`/proc/PID/exe`, `/proc/PID/cmdline`), as
 * `native -- prog ARGS` names the one it starts, in every output: pprof's
 * mapping (go tool pprof's `File:`), the HTML title, the text's `program`
 * line and the JSON's `command`. It said `pid N` in each.
 */
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import {
  dir,
  nativeCommand,
  pidFrom,
  skip,
  SLEEPER,
  startProgram,
} from "./_support.ts";

Deno.test({
  name:
    "native -p PID: pprof's File:, the HTML title, the text's program line and the JSON's command name the executable and its arguments, not 'pid N'",
  ignore: skip !== "",
  async fn() {
    const { prog, paths: [pidFile, stopFile] } = await startProgram(
      "named",
      SLEEPER,
      ["pid", "stop"],
    );
    try {
      const pid = await pidFrom(pidFile, 200);
      assertTrue(pid > 0, "the program started");
      const r = await nativeCommand([
        "-p",
        String(pid),
        "--duration",
        "1",
        "--json",
        `${dir}/named.json`,
        "--html",
        `${dir}/named.html`,
        "--pprof",
        `${dir}/named.pb.gz`,
      ]).output();
      const err = new TextDecoder().decode(r.stderr);
      if (r.code !== 0 && /not permitted/.test(err)) {
        console.log(`attach_name_test: skipped: ${err.trim()}`);
        return;
      }
      assertEquals(r.code, 0, err);
      // The executable as the kernel has it (a real path: the test's
      // directory may be reached through a symlink), then the arguments.
      const exe = Deno.realPathSync(`${dir}/named`);
      const command = [exe, pidFile, stopFile];
      const doc = JSON.parse(await Deno.readTextFile(`${dir}/named.json`));
      assertEquals(doc.command, command);
      const line = err.split("\n").find((l) => l.startsWith("program "));
      assertTrue(
        line?.startsWith(`program       ${command.join(" ")}: detached after `),
        err,
      );
      assertTrue(!err.includes(`pid ${pid}:`), err);
      const html = await Deno.readTextFile(`${dir}/named.html`);
      assertIncludes(
        html,
        `<title>alloctrace native ${command.join(" ")}</title>`,
      );
      const { Profile } = await import("npm:pprof-format@2.3.2");
      const { gunzip } = await import("../../lib/profile/gzip.ts");
      const p = Profile.decode(
        await gunzip(await Deno.readFile(`${dir}/named.pb.gz`)),
      );
      assertEquals(
        p.mapping.map((m) => p.stringTable.strings[Number(m.filename)]),
        [exe],
      );
      await Deno.writeTextFile(stopFile, "");
      assertEquals((await prog.status).code, 5, "it ended on its own");
    } finally {
      try {
        prog.kill("SIGKILL");
      } catch { /* ended */ }
    }
  },
});
