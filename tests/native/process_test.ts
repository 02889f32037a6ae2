/**
 * Native tracing across processes: exec (through env, sh -c and a shebang
 * script; events before it kept), fork children followed (or not), a
 * vfork child's calls charged to it, and job control passing through.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import type { NativeEvent } from "../../lib/native/tracer.ts";
import {
  compile,
  dir,
  nativeCommand,
  pidFrom,
  skip,
  skipBreakpoints,
  trace,
} from "./_support.ts";

// Makes n mallocs of `size` bytes (kept), then execs argv[3…] if given.
const MAKER = `#include <stdlib.h>
#include <unistd.h>
void *volatile keep;
int main(int argc, char **argv) {
  int n = atoi(argv[1]), size = atoi(argv[2]);
  for (int i = 0; i < n; i++) keep = malloc(size);
  if (argc > 3) { execv(argv[3], argv + 3); return 99; }
  return 0;
}
`;

const count = (events: NativeEvent[], size: number) =>
  events.filter((e) => e.kind === "malloc" && e.size === size);

Deno.test({
  name:
    "native follows exec: env, sh -c and a shebang script are traced into the program; events before an exec are kept; each event has its image",
  ignore: skip !== "",
  async fn() {
    const maker = await compile("maker", MAKER);
    const script = `${dir}/shim.sh`;
    await Deno.writeTextFile(script, `#!/bin/sh\nexec ${maker} "$@"\n`);
    await Deno.chmod(script, 0o755);
    for (
      const argv of [
        ["env", "FOO=1", maker, "7", "12345"],
        ["sh", "-c", `${maker} 7 12345`],
        [script, "7", "12345"],
      ]
    ) {
      for (const mode of ["inject", "breakpoints"] as const) {
        const r = trace(argv, { mode, stacks: mode === "inject" });
        assertEquals(r.code, 0, argv.join(" "));
        const mine = count(r.events, 12345);
        assertEquals(mine.length, 7, `${mode}: ${argv.join(" ")}`);
        assertTrue(
          mine.every((e) => e.image === maker),
          mine[0]?.image ?? "",
        );
      }
    }
    // maker 5×23456, then exec maker 3×34567: both kept, each with its image.
    const r = trace([maker, "5", "23456", maker, "3", "34567"]);
    assertEquals(r.code, 0);
    assertEquals(count(r.events, 23456).length, 5);
    assertEquals(count(r.events, 34567).length, 3);
    const before = count(r.events, 23456)[0];
    const after = count(r.events, 34567)[0];
    assertEquals(before.pid, after.pid);
    assertEquals([before.image, after.image], [maker, maker]);
  },
});

const FORKS = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep;
int main(void) {
  pid_t pid = fork();
  if (pid == 0) { for (int i = 0; i < 6; i++) keep = malloc(4242); _exit(0); }
  for (int i = 0; i < 4; i++) keep = malloc(4343);
  int st; waitpid(pid, &st, 0);
  pid_t v = vfork();
  if (v == 0) { keep = malloc(5151); _exit(0); }
  keep = malloc(5252);
  waitpid(v, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 3;
}
`;

Deno.test({
  name:
    "native follows fork children by default (their pid on their events), not with followForks false; a vfork child's calls are its own",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("forks", FORKS);
    for (const mode of ["inject", "breakpoints"] as const) {
      const r = trace([bin], { mode, stacks: mode === "inject" });
      assertEquals(r.code, 0);
      const child = count(r.events, 4242);
      const parent = count(r.events, 4343);
      assertEquals([child.length, parent.length], [6, 4], mode);
      assertEquals(new Set(child.map((e) => e.pid)).size, 1);
      assertTrue(child[0].pid !== parent[0].pid, "the child has its own pid");
      assertEquals(parent[0].pid, parent[0].tid);
      const vchild = count(r.events, 5151);
      const vparent = count(r.events, 5252);
      assertEquals([vchild.length, vparent.length], [1, 1], mode);
      assertTrue(
        vchild[0].pid !== parent[0].pid,
        `${mode}: the vfork child's malloc is charged to pid ${
          vchild[0].pid
        }, not its parent ${parent[0].pid}`,
      );
      assertEquals(vparent[0].pid, parent[0].pid);
    }
    const off = trace([bin], { followForks: false });
    assertEquals(off.code, 0, "the untraced child ran unharmed");
    assertEquals(count(off.events, 4242).length, 0);
    assertEquals(count(off.events, 4343).length, 4);
  },
});

// clone without CLONE_VM: a process with a copy of the memory. With an exit
// signal other than SIGCHLD ptrace reports it as a clone, not a fork: it is
// still a process of its own, whose calls go to its own copy of the ring.
const CLONES = `#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
void *volatile keep;
static char stack[1 << 16];
static int child(void *arg) { for (int i = 0; i < 6; i++) keep = malloc((long)arg); return 0; }
int main(void) {
  signal(SIGUSR1, SIG_IGN);
  int st;
  pid_t p = clone(child, stack + sizeof stack, SIGUSR1, (void *)6161);
  for (int i = 0; i < 4; i++) keep = malloc(6262);
  if (waitpid(p, &st, __WALL) != p || st != 0) return 3;
  pid_t q = clone(child, stack + sizeof stack, SIGCHLD, (void *)6363);
  if (waitpid(q, &st, 0) != q || st != 0) return 4;
  return 0;
}
`;

Deno.test({
  name:
    "native follows clone without CLONE_VM as a fork, whatever its exit signal (SIGUSR1: ptrace's clone event, not fork's), not with followForks false",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("clones", CLONES);
    for (const mode of ["inject", "breakpoints"] as const) {
      const r = trace([bin], { mode, stacks: mode === "inject" });
      assertEquals(r.code, 0, mode);
      const [a, b, main] = [6161, 6363, 6262].map((n) => count(r.events, n));
      assertEquals([a.length, b.length, main.length], [6, 6, 4], mode);
      const pids = new Set([a[0].pid, b[0].pid, main[0].pid]);
      assertEquals(pids.size, 3, `${mode}: each process its own pid`);
      if (mode === "inject") {
        assertTrue(a[0].frames.some((f) => f.name === "child"), mode);
      }
    }
    const off = trace([bin], { followForks: false });
    assertEquals(off.code, 0, "the untraced children ran unharmed");
    assertEquals(count(off.events, 6161).length, 0);
    assertEquals(count(off.events, 6363).length, 0);
    assertEquals(count(off.events, 6262).length, 4);
  },
});

Deno.test({
  name:
    "native CLI: the report splits by process and --pid keeps one process's calls",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("forks_cli", FORKS);
    const all = await alloctrace(
      ["native", "--top", "2", "--json", `${dir}/forks.json`, "--", bin],
      ["-A"],
    );
    assertEquals(all.code, 0, all.stderr);
    // --top limits the table (a forking server makes thousands), not the JSON.
    assertTrue(
      /processes \(the 2 of \d+ with most bytes; --pid PID reports one\)/
        .test(all.stderr),
      all.stderr,
    );
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/forks.json`));
    assertTrue(doc.processes.length >= 3, JSON.stringify(doc.processes));
    const child = doc.processes.find((p: { allocBytes: number }) =>
      p.allocBytes === 6 * 4242
    );
    assertTrue(child !== undefined, JSON.stringify(doc.processes));
    // A pid to keep must be known before the run: attach to a program
    // that forks a child making calls of its own, every 20 ms.
    const server = await compile(
      "forker",
      `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep;
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  for (int i = 0; i < 1000; i++) {
    pid_t p = fork();
    if (p == 0) { keep = malloc(4242); free(keep); _exit(0); }
    keep = malloc(4343); free(keep);
    waitpid(p, 0, 0); usleep(20000);
  }
  return 0;
}
`,
    );
    const pidFile = `${dir}/forker.pid`;
    const prog = new Deno.Command(server, {
      args: [pidFile],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const pid = await pidFrom(pidFile, 200);
      const one = await alloctrace(
        [
          "native",
          "-q",
          "-p",
          String(pid),
          "--duration",
          "1",
          "--pid",
          String(pid),
          "--json",
          `${dir}/one.json`,
        ],
        ["-A"],
      );
      if (one.code !== 0 && /not permitted/.test(one.stderr)) {
        console.log(`process_test --pid: skipped: ${one.stderr.trim()}`);
        return;
      }
      assertEquals(one.code, 0, one.stderr);
      const only = JSON.parse(await Deno.readTextFile(`${dir}/one.json`));
      assertEquals(
        only.processes.map((p: { pid: number }) => p.pid),
        [pid],
        "only the kept process",
      );
      // How many of its calls fall in the second depends on the load (each
      // fork waits for the tracer): some do, and they are all its own.
      assertTrue(only.allocs > 0, `${only.allocs} calls kept`);
      // Every kept call is the parent's 4343 bytes (a child's is 4242).
      // Not "allocBytes % 4242": 42 calls of 4343 bytes are 43 × 4242, and
      // about 42 fit in the second since the tracer got faster.
      assertEquals(
        only.sites.filter((s: { allocBytes: number; allocs: number }) =>
          s.allocBytes !== 4343 * s.allocs
        ),
        [],
        "no call of a child",
      );
    } finally {
      prog.kill("SIGKILL");
      await prog.status;
    }
  },
});

// Ticks into argv[2] ("tick tstp"): tstp counts SIGTSTPs its handler took
// before stopping itself the default way, as an editor or pager does.
const TICKER = `#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static volatile int tstp;
static void on_tstp(int s) { tstp++; signal(SIGTSTP, SIG_DFL); raise(SIGTSTP); }
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  for (int i = 1; i <= 150; i++) {
    signal(SIGTSTP, on_tstp);
    void *volatile p = malloc(100); free(p);
    /* A new file renamed over the old: a reader never sees it empty. */
    f = fopen(tmp, "w"); fprintf(f, "%d %d\\n", i, tstp); fclose(f);
    rename(tmp, argv[2]);
    usleep(10000);
  }
  return 0;
}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The ticker's "tick tstp" (or its pid) from file `f`. */
const readNums = async (f: string) =>
  (await Deno.readTextFile(f).catch(() => "")).trim().split(" ").map(Number);
/** Waits for the ticker's pid and its 5th tick. */
async function started(pidFile: string, tickFile: string): Promise<number> {
  const pid = await pidFrom(pidFile, 400, 50);
  assertTrue(pid > 0, "the program started");
  while (!((await readNums(tickFile))[0] >= 5)) await sleep(10);
  return pid;
}
/** Whether signal `sig` is pending for process `pid` (sent to it, not yet taken). */
async function pending(pid: number, sig: number): Promise<boolean> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const masks = [...status.matchAll(/^(?:ShdPnd|SigPnd):\s*([0-9a-f]+)$/gm)];
  return masks.some((m) =>
    (BigInt(`0x${m[1]}`) >> BigInt(sig - 1) & 1n) === 1n
  );
}
/**
 * Sends `sig` to the ticker and says whether it stopped: no tick for a
 * second after it took the signal, and in a stopped state. Counted from
 * the signal's taking, not its sending: on a loaded machine the program
 * (or its tracer, which hands the signal on) may take a while to get to
 * it, and it ticks on meanwhile. Once taken, a stop signal stops it before
 * its next tick (a handler first, if it has one: it ticks no more either);
 * a SIGTSTP the kernel discards lets it tick on.
 */
async function stopsOn(
  pid: number,
  tickFile: string,
  sig: "SIGSTOP" | "SIGTSTP",
): Promise<boolean> {
  const num = sig === "SIGSTOP" ? 19 : 20;
  Deno.kill(pid, sig);
  for (let i = 0; i < 1000 && await pending(pid, num); i++) await sleep(10);
  assertEquals(await pending(pid, num), false, `${sig} taken`);
  const [at] = await readNums(tickFile);
  for (let i = 0; i < 40; i++) {
    await sleep(25);
    if ((await readNums(tickFile))[0] !== at) return false;
  }
  const state =
    (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1][0];
  return (await readNums(tickFile))[0] === at &&
    (state === "T" || state === "t");
}
/** Waits until the ticker ticks on. */
async function ticksOn(tickFile: string): Promise<void> {
  const [from] = await readNums(tickFile);
  for (let i = 0; i < 400 && (await readNums(tickFile))[0] <= from; i++) {
    await sleep(25);
  }
  assertTrue((await readNums(tickFile))[0] > from, "it runs on");
}

for (const mode of ["inject", "breakpoints"] as const) {
  Deno.test({
    name: `native${
      mode === "inject" ? "" : " --breakpoints"
    }: SIGSTOP, SIGTSTP (its handler runs, then it stops itself the default way) and SIGCONT reach the traced program as without the tracer (job control)`,
    ignore: mode === "inject" ? skip !== "" : skipBreakpoints !== "",
    async fn() {
      const bin = await compile("ticker", TICKER);
      const files = (what: string) =>
        ["pid", "tick"].map((x) => `${dir}/ticker-${what}.${x}`);
      // Without the tracer first: SIGTSTP's default action stops it, unless
      // its process group is orphaned (a test runner's background job), when
      // the kernel discards it. Traced, it must do the same.
      const [bpid, btick] = files(`${mode}-bare`);
      const bare = new Deno.Command(bin, {
        args: [bpid, btick],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const b = await started(bpid, btick);
      const tstpStops = await stopsOn(b, btick, "SIGTSTP");
      Deno.kill(b, "SIGCONT");
      assertEquals((await bare.status).code, 0);
      assertEquals(await readNums(btick), [150, 1], "untraced");

      const [pidFile, tickFile] = files(mode);
      const child = nativeCommand(
        [
          "-q",
          ...(mode === "inject" ? [] : ["--breakpoints"]),
          "--",
          bin,
          pidFile,
          tickFile,
        ],
        "null",
      ).spawn();
      const pid = await started(pidFile, tickFile);
      assertTrue(
        await stopsOn(pid, tickFile, "SIGSTOP"),
        "SIGSTOP: it stays stopped",
      );
      Deno.kill(pid, "SIGCONT");
      await ticksOn(tickFile);
      assertEquals(
        await stopsOn(pid, tickFile, "SIGTSTP"),
        tstpStops,
        `SIGTSTP: stopped as without the tracer (${tstpStops})`,
      );
      Deno.kill(pid, "SIGCONT");
      await ticksOn(tickFile);
      const out = await child.output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(
        await readNums(tickFile),
        [150, 1],
        "150 ticks, one SIGTSTP",
      );
    },
  });
}
