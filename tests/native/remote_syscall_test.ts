/**
 * The system calls the tracer runs inside a traced program
 * (lib/native/ring_map.ts RemoteSyscalls: the region's mmap, the shared
 * ring's memfd): a signal that stops the step first is not taken for the
 * call's result; a seccomp filter that kills on memfd_create does not kill
 * the program; a program that dies in one is reported with its own status;
 * nothing is written on the stopped thread's stack.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import {
  compile,
  dir,
  nativeCommand,
  pidFrom,
  skip,
  trace,
} from "./_support.ts";

const N = 20000;

// Runs argv[3...] under a seccomp filter: memfd_create kills ("memfd"), or
// an mmap with MAP_FIXED_NOREPLACE (the tracer's region) kills ("mmap").
const FILTER = `#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
int main(int argc, char **argv) {
  struct sock_filter memfd[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter mmap[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x100000, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = { 4, memfd };
  if (strcmp(argv[1], "mmap") == 0) { p.len = 6; p.filter = mmap; }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) { perror("seccomp"); return 2; }
  execv(argv[2], argv + 2);
  perror("exec");
  return 3;
}
`;

// N malloc(4321)/free pairs; exit code 7.
const LOOP = `#include <stdlib.h>
void *volatile keep;
int main(void) {
  for (int i = 0; i < ${N}; i++) { keep = malloc(4321); free(keep); }
  return 7;
}
`;

Deno.test({
  name:
    "native: a program whose seccomp filter kills on memfd_create runs traced (the ring read by system call), its exit code and every call kept",
  ignore: skip !== "",
  async fn() {
    const filter = await compile("filter", FILTER);
    const loop = await compile("loop", LOOP);
    const plain = await new Deno.Command(filter, {
      args: ["memfd", loop],
    }).output();
    assertEquals(plain.code, 7, "untraced, it runs");
    const { code, events } = trace([filter, "memfd", loop]);
    assertEquals(code, 7, "its own exit code");
    const mine = events.filter((e) => e.kind === "malloc" && e.size === 4321);
    assertEquals(mine.length, N, "its mallocs");
  },
});

Deno.test({
  name:
    "native: a program killed during the tracer's own system call (its seccomp filter kills the region's mmap) is reported killed by SIGSYS (exit code 159), not -1",
  ignore: skip !== "",
  async fn() {
    const filter = await compile("filter", FILTER);
    const loop = await compile("loop", LOOP);
    const plain = await new Deno.Command(filter, {
      args: ["mmap", loop],
    }).output();
    assertEquals(plain.code, 7, "untraced, it runs (no such mmap of its own)");
    for (const sharedRing of [true, false]) {
      const { code } = trace([filter, "mmap", loop], { sharedRing });
      assertEquals(
        code,
        128 + 31,
        `killed by SIGSYS (sharedRing ${sharedRing})`,
      );
    }
  },
});

Deno.test({
  name:
    "native: a program killed by SIGSYS during the tracer's own system call: the report's line and the HTML's subtitle say 'killed by SIGSYS (exit code 159)', the JSON's signal SIGSYS, alloctrace's exit code 159",
  ignore: skip !== "",
  async fn() {
    const filter = await compile("filter", FILTER);
    const loop = await compile("loop", LOOP);
    const json = `${dir}/sigsys.json`;
    const html = `${dir}/sigsys.html`;
    const r = await alloctrace(
      ["native", "--json", json, "--html", html, "--", filter, "mmap", loop],
      ["-A"],
    );
    assertEquals(r.code, 159, r.stderr);
    assertTrue(
      new RegExp(
        `^program       ${filter} mmap ${loop}: killed by SIGSYS \\(exit code 159\\), [\\d.]+ s$`,
        "m",
      ).test(r.stderr),
      r.stderr,
    );
    const doc = JSON.parse(await Deno.readTextFile(json));
    assertEquals([doc.exitCode, doc.signal], [159, "SIGSYS"]);
    assertTrue(
      (await Deno.readTextFile(html)).includes(
        "killed by SIGSYS (exit code 159)",
      ),
      "the HTML report's subtitle says how it ended",
    );
  },
});

// A running program for -p: fd 319 open on argv[2] (100,000 bytes), a
// 100 µs itimer whose SIGALRM handler counts, malloc/free in a loop; with
// argv[3] "coroutine", no timer, and the loop runs on a ucontext
// coroutine's 64 KB stack, exiting 42 when the memfd's name is found on
// it. It writes its pid to argv[1], then its tick count (or its loop's)
// to argv[4] now and then.
const RUNNING = `#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#define STK 65536
static unsigned char stk[STK] __attribute__((aligned(64)));
static ucontext_t mainc, coc;
void *volatile sink;
volatile long ticks;
static char *tickFile;
static void on(int s) { (void)s; ticks++; }
static void body(void) {
  for (long i = 0;; i++) {
    sink = malloc(16 + (i & 63)); free(sink);
    if ((i & 0xfff) == 0 && memmem(stk, STK, "alloctrace-ring", 15)) _exit(42);
    if ((i & 0xffff) == 0) {
      // (No stdio: its frames would cover what is below the loop's.)
      char b[24], *e = b + sizeof b, *d = e;
      long t = ticks ? ticks : i;
      do *--d = '0' + t % 10; while ((t /= 10) > 0);
      int fd = open(tickFile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      write(fd, d, e - d); close(fd);
    }
  }
}
int main(int argc, char **argv) {
  int fd = open(argv[2], O_RDWR);
  if (fd < 0 || dup2(fd, 319) != 319) return 2;
  close(fd);
  tickFile = argv[4];
  struct sigaction sa = {0};
  sa.sa_handler = on; sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = {{0, 100}, {0, 100}};
  // (Not on the coroutine: each signal frame would cover the name.)
  if (argv[3][0] != 'c') setitimer(ITIMER_REAL, &it, 0);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  if (argv[3][0] == 'c') {
    getcontext(&coc);
    coc.uc_stack.ss_sp = stk; coc.uc_stack.ss_size = STK; coc.uc_link = &mainc;
    makecontext(&coc, body, 0);
    swapcontext(&mainc, &coc);
  }
  body();
  return 0;
}
`;

const fd319 = (pid: number) => {
  try {
    return Deno.readLinkSync(`/proc/${pid}/fd/319`);
  } catch {
    return "(closed)";
  }
};

Deno.test({
  name:
    "native -p PID: a program with a 100 µs timer signal, attached 6 times: its fd 319 and the file on it unchanged (a signal stopping the tracer's step is not taken for memfd_create's result), it runs on; the memfd's name never written on the stopped thread's (coroutine) stack",
  ignore: skip !== "",
  sanitizeResources: false,
  async fn() {
    const bin = await compile("timer", RUNNING);
    for (const where of ["main", "coroutine"]) {
      const [pidFile, victim, tickFile] = ["pid", "dat", "tick"].map((x) =>
        `${dir}/timer-${where}.${x}`
      );
      await Deno.writeFile(victim, new Uint8Array(100000));
      const prog = new Deno.Command(bin, {
        args: [pidFile, victim, where, tickFile],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        const pid = await pidFrom(pidFile, 500);
        assertTrue(pid > 0, "the program started");
        for (let i = 0; i < 3; i++) {
          const out = await nativeCommand([
            "-p",
            String(pid),
            "--duration",
            "1",
            "--json",
            `${dir}/timer.json`,
          ]).output();
          const err = new TextDecoder().decode(out.stderr);
          if (out.code !== 0 && /not permitted/.test(err)) {
            console.log(`remote_syscall_test: skipped: ${err.trim()}`);
            return;
          }
          assertEquals(out.code, 0, `${where} ${i}: ${err}`);
          assertEquals(
            fd319(pid),
            victim,
            `${where} ${i}: its fd 319`,
          );
          assertEquals(
            Deno.statSync(victim).size,
            100000,
            `${where} ${i}: the file`,
          );
        }
        const ticks = async () =>
          Number((await Deno.readTextFile(tickFile).catch(() => "")).trim());
        const from = await ticks();
        let later = from;
        for (let i = 0; i < 200 && later <= from; i++) {
          await new Promise((r) => setTimeout(r, 50));
          later = await ticks();
        }
        assertTrue(later > from, `${where}: it runs on (${from}, ${later})`);
      } finally {
        try {
          prog.kill("SIGKILL");
        } catch {
          // ended
        }
        const st = await prog.status;
        // 42: the name was found on the coroutine's stack.
        assertEquals(st.signal, "SIGKILL", `${where}: ran until killed`);
      }
    }
  },
});
