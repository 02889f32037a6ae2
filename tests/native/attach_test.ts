/**
 * `alloctrace native -p PID`: hooks injected into a running process, then
 * a clean detach (by --duration, or Ctrl-C): the program runs on, untraced.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import {
  advances,
  dir,
  mallocBytes,
  nativeCommand,
  pidFrom,
  skip,
  sleep,
  startProgram,
} from "./_support.ts";

const SERVER = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
void *volatile keep;
volatile long ticks;
void *worker(void *arg) {
  for (;;) { void *p = malloc(48); keep = p; free(p); usleep(1000); }
  return 0;
}
int main(int argc, char **argv) {
  pthread_t th; pthread_create(&th, 0, worker, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (long i = 1;; i++) {
    void *volatile p = malloc(4000); free(p);
    f = fopen(argv[2], "w"); fprintf(f, "%ld\\n", i); fclose(f);
    if (access(argv[3], F_OK) == 0) return 5;
    usleep(5000);
  }
}
`;

Deno.test({
  name:
    "native -p PID: attaches to a running program, traces its calls, detaches cleanly (--duration, then Ctrl-C): original bytes back, no tracer, the program runs on",
  ignore: skip !== "",
  async fn() {
    const { prog, paths: [pidFile, tickFile, stopFile] } = await startProgram(
      "server",
      SERVER,
      ["pid", "tick", "stop"],
      ["-pthread"],
    );
    try {
      const pid = await pidFrom(pidFile, 200);
      assertTrue(pid > 0, "the program started");
      const attach = (extra: string[]) =>
        nativeCommand([
          "-p",
          String(pid),
          "--json",
          `${dir}/attach.json`,
          ...extra,
        ]);
      const byDuration = await attach(["--duration", "1"]).output();
      const err = new TextDecoder().decode(byDuration.stderr);
      if (byDuration.code !== 0 && /not permitted/.test(err)) {
        // Yama ptrace_scope 1 lets a tracer attach only to its descendants.
        console.log(`attach_test: skipped: ${err.trim()}`);
        return;
      }
      assertEquals(byDuration.code, 0, err);
      assertTrue(/: detached after [\d.]+ s, runs on\n/.test(err), err);
      assertTrue(/\nlive at end {2}/.test(err), err);
      const doc = JSON.parse(await Deno.readTextFile(`${dir}/attach.json`));
      const site = (n: number) =>
        doc.sites.filter((s: { allocBytes: number; allocs: number }) =>
          s.allocBytes === n * s.allocs
        );
      assertTrue(doc.allocs > 20, `${doc.allocs} allocations traced`);
      assertTrue(site(4000).length > 0 && site(48).length > 0, err);
      const status = await Deno.readTextFile(`/proc/${pid}/status`);
      assertEquals(/^TracerPid:\s*(\d+)/m.exec(status)?.[1], "0");
      const [theirs, ours] = await mallocBytes(pid);
      assertEquals(theirs, ours, "malloc's entry is as libc has it");
      assertTrue(await advances(tickFile), "it runs on after the detach");
      // Ctrl-C detaches too.
      const child = attach([]).spawn();
      // Ctrl-C once it is attached (a signal before alloctrace listens would be lost).
      const tracer = async () =>
        /^TracerPid:\s*(\d+)/m.exec(
          await Deno.readTextFile(`/proc/${pid}/status`),
        )?.[1];
      for (let i = 0; i < 400 && (await tracer()) === "0"; i++) await sleep(50);
      await sleep(300);
      child.kill("SIGINT");
      const byCtrlC = await child.output();
      assertEquals(
        byCtrlC.code,
        0,
        new TextDecoder().decode(byCtrlC.stderr),
      );
      assertEquals(
        /^TracerPid:\s*(\d+)/m.exec(
          await Deno.readTextFile(`/proc/${pid}/status`),
        )?.[1],
        "0",
      );
      assertTrue(await advances(tickFile), "it runs on after Ctrl-C");
      await Deno.writeTextFile(stopFile, "");
      const end = await prog.status;
      assertEquals(end.code, 5, "it ended on its own, unharmed");
    } finally {
      try {
        prog.kill("SIGKILL");
      } catch { /* ended */ }
    }
  },
});

// Its main thread ends (pthread_exit) once `go` exists; a worker thread
// runs on, allocating, until `stop` exists.
const HEADLESS = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
void *volatile keep;
static char **args;
void *worker(void *arg) {
  for (long i = 1;; i++) {
    void *p = malloc(48); keep = p; free(p);
    FILE *f = fopen(args[2], "w"); fprintf(f, "%ld\\n", i); fclose(f);
    if (access(args[4], F_OK) == 0) exit(5);
    usleep(5000);
  }
  return 0;
}
int main(int argc, char **argv) {
  args = argv;
  pthread_t th; pthread_create(&th, 0, worker, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  while (access(argv[3], F_OK) != 0) usleep(1000);
  pthread_exit(0);
}
`;

Deno.test({
  name:
    "native -p PID: the main thread ends (pthread_exit) while attached; Ctrl-C still detaches (the ended main thread is not waited for: it never stops), the program runs on",
  ignore: skip !== "",
  async fn() {
    const { prog, paths: [pidFile, tickFile, goFile, stopFile] } =
      await startProgram(
        "headless",
        HEADLESS,
        ["pid", "tick", "go", "stop"],
        ["-pthread"],
      );
    try {
      const pid = await pidFrom(pidFile, 200);
      assertTrue(pid > 0, "the program started");
      const child = nativeCommand([
        "-p",
        String(pid),
        "--json",
        `${dir}/headless.json`,
      ]).spawn();
      const status = () =>
        Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
      const tracer = async () =>
        /^TracerPid:\s*(\d+)/m.exec(await status())?.[1];
      for (let i = 0; i < 400 && (await tracer()) === "0"; i++) await sleep(50);
      // The hooks in: malloc's entry patched.
      const patched = async () => {
        const [theirs, ours] = await mallocBytes(pid);
        return theirs !== ours;
      };
      for (let i = 0; i < 400 && !(await patched()); i++) await sleep(50);
      assertTrue(await patched(), "the hooks went in");
      await Deno.writeTextFile(goFile, "");
      // The main thread a zombie: ended, the process runs on.
      const mainEnded = async () => {
        const st = await Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`)
          .catch(() => "");
        return /^[ZX]/.test(st.slice(st.lastIndexOf(")") + 2));
      };
      for (let i = 0; i < 400 && !(await mainEnded()); i++) await sleep(50);
      assertTrue(await mainEnded(), "the main thread ended");
      await sleep(300);
      child.kill("SIGINT");
      // A detach that waits for the ended main thread never returns.
      const output = child.output();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = await Promise.race([
        output,
        new Promise<null>((r) => timer = setTimeout(() => r(null), 60_000)),
      ]);
      clearTimeout(timer);
      if (ended === null) {
        child.kill("SIGKILL");
        await output;
        throw new Error("the detach hung (60 s after Ctrl-C)");
      }
      const err = new TextDecoder().decode(ended.stderr);
      assertEquals(ended.code, 0, err);
      const doc = JSON.parse(await Deno.readTextFile(`${dir}/headless.json`));
      assertTrue(doc.allocs > 0, `${doc.allocs} allocations traced`);
      const worker = [...Deno.readDirSync(`/proc/${pid}/task`)]
        .map((d) => Number(d.name)).find((t) => t !== pid)!;
      const workerStatus = await Deno.readTextFile(
        `/proc/${pid}/task/${worker}/status`,
      );
      assertEquals(/^TracerPid:\s*(\d+)/m.exec(workerStatus)?.[1], "0");
      const [theirs, ours] = await mallocBytes(pid, worker);
      assertEquals(theirs, ours, "malloc's entry is as libc has it");
      assertTrue(await advances(tickFile), "it runs on after the detach");
      await Deno.writeTextFile(stopFile, "");
      assertEquals((await prog.status).code, 5, "it ended on its own");
    } finally {
      try {
        prog.kill("SIGKILL");
      } catch { /* ended */ }
    }
  },
});
