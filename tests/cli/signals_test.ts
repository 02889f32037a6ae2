/**
 * run's signal watch (`lib/cli/_signals.ts`) takes SIGINT, SIGTERM and
 * SIGHUP so that a `--trace-out` temporary is removed, but leaves alone a
 * signal the process started with ignored: a background job of a script
 * (the shell ignores SIGINT for it) or `nohup` (SIGHUP) keeps running
 * through it, as it would without the watch.
 */
import { assertEquals } from "../_assert.ts";
import { ROOT, withTempDir } from "../_run.ts";

const SCRIPT = `import { watchSignals } from "${ROOT}lib/cli/_signals.ts";
const w = await watchSignals();
console.log("ready");
await new Promise((r) => setTimeout(r, 1500));
console.log(w.pending());
w.stop();
`;

/** Runs the script under bash (`prelude` first), sends `signal` once it watches; its output and exit code. */
async function watched(dir: string, prelude: string, signal: Deno.Signal) {
  await Deno.writeTextFile(`${dir}/w.ts`, SCRIPT);
  const child = new Deno.Command("bash", {
    args: ["-c", `${prelude}exec "${Deno.execPath()}" run -A "${dir}/w.ts"`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  child.kill(signal);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const status = await child.status;
  await child.stderr.cancel();
  return { out, code: status.code };
}

Deno.test("the signal watch takes SIGINT and SIGHUP, unless the process started with them ignored", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await watched(dir, "", "SIGINT"), {
      out: "ready\n2\n",
      code: 0,
    });
    // A script's background job, or `trap '' INT`: the watch leaves it.
    assertEquals(await watched(dir, "trap '' INT; ", "SIGINT"), {
      out: "ready\n0\n",
      code: 0,
    });
    // nohup's SIGHUP.
    assertEquals(await watched(dir, "trap '' HUP; ", "SIGHUP"), {
      out: "ready\n0\n",
      code: 0,
    });
  }, "alloctrace-signals-");
});
