/**
 * Hostile programs under `alloctrace native`, table-driven with the
 * bad-input suite's assertions (tests/cli/_bad_input.ts): the exit
 * code, stderr holding exactly one line (the program's own; -q keeps ours
 * out), no event lost (the marker allocations counted exactly), and no
 * pre-existing file changed (outputs land only where asked).
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { alloctrace } from "../_run.ts";
import { compile, dir, skip, skipBreakpoints } from "./_support.ts";
import { SHARED_BYTES } from "../../lib/native/inject.ts";

// Each program makes MARK-byte allocations (a size nothing else asks for),
// writes one line to stderr, and ends as its row says.
const MARK = 5000;
const HEAD = `#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/wait.h>
void *volatile keep;
void *marks[64]; /* the first 64 marker blocks */
static int nmarks;
static void mark(int n) { for (int i = 0; i < n; i++) { keep = malloc(${MARK}); if (nmarks < 64) marks[nmarks++] = keep; } }
`;

interface Row {
  name: string;
  body: string;
  flags?: string[];
  code: number;
  /** Marker allocations the trace must hold. */
  marks: number;
  /** Marker blocks live at exit (default: all of them, mark() frees nothing). */
  live?: number;
  /** Blocks an exec dropped with the image that made them (default 0). */
  dropped?: number;
  /**
   * Others may be dropped too (libc's own, of a threaded image): at least
   * `dropped` blocks and their bytes.
   */
  droppedOthers?: boolean;
  /** Frees of blocks a fork child inherited from its parent (default 0). */
  inherited?: number;
  /** The signal that killed it, as the JSON names it (default: none, null). */
  signal?: string;
  /** The program's one line on stderr, when the row pins it. */
  line?: string;
  needsBreakpoints?: boolean;
  /** More compiler flags. */
  cflags?: string[];
}

const ROWS: Row[] = [
  {
    name:
      "a fork child its seccomp filter kills during the tracer's unsharing of its ring (an mmap of that size): the trace goes on, the parent's wait for it ends (its exit was left stopped, stale), the parent's calls counted",
    body: `#include <stddef.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
int main() { mark(3);
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ${SHARED_BYTES}, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_fprog p = { 6, f };
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) return 2;
  pid_t c = fork(); if (c == 0) { mark(5); _exit(0); }
  int st; waitpid(c, &st, 0);
  fprintf(stderr, "child %s\\n", WIFSIGNALED(st) ? "killed" : "exited");
  return 0; }`,
    code: 0,
    marks: 3,
  },
  {
    name: "threads racing, --breakpoints",
    flags: ["--breakpoints", "--no-stacks"],
    needsBreakpoints: true,
    body: `void *w(void *a) { mark(500); return 0; }
int main() { pthread_t t[6]; for (int i = 0; i < 6; i++) pthread_create(&t[i], 0, w, 0);
  for (int i = 0; i < 6; i++) pthread_join(t[i], 0); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 3000,
  },
  {
    name: "fork: the child's calls too, the child's exit code ignored",
    body: `int main() { pid_t p = fork(); if (p == 0) { mark(7); _exit(3); }
  mark(5); int st; waitpid(p, &st, 0); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 12,
  },
  {
    name:
      "exec of itself: calls before and after; the blocks of the image before are dropped at the exec, not leaks",
    body: `int main(int argc, char **argv) { mark(4);
  if (argc == 1) { execl(argv[0], argv[0], "again", (char *)0); return 9; }
  fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 8,
    live: 4,
    dropped: 4,
  },
  {
    name:
      "a fork child allocates, then execs a program that makes no call: its blocks are dropped at the exec all the same",
    body: `int main() { pid_t p = fork();
  if (p == 0) { mark(2); execl("/bin/true", "true", (char *)0); _exit(9); }
  int st; waitpid(p, &st, 0); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 2,
    live: 0,
    dropped: 2,
  },
  {
    name:
      "a fork child frees blocks its parent allocated: frees of inherited blocks, the parent's own stay live",
    body: `int main() { mark(3);
  pid_t p = fork(); if (p == 0) { free(marks[0]); free(marks[1]); _exit(0); }
  int st; waitpid(p, &st, 0); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 3,
    inherited: 2,
  },
  {
    name:
      "40 fork children each leak a block: all 40 live at exit (their heaps are copies of one another, at the same addresses)",
    body: `int main() { for (int i = 0; i < 40; i++) { pid_t p = fork();
    if (p == 0) { mark(1); _exit(0); } int st; waitpid(p, &st, 0); }
  fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 40,
  },
  {
    name:
      "exec with ASLR off: the blocks the image before left are dropped at the exec, the new image's at their addresses stay live",
    body: `#include <sys/personality.h>
int main(int argc, char **argv) {
  if (argc == 1) { personality(ADDR_NO_RANDOMIZE); execl(argv[0], argv[0], "a", (char *)0); return 9; }
  mark(4);
  if (argc == 2) { execl(argv[0], argv[0], "a", "b", (char *)0); return 9; }
  fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 8,
    live: 4,
    dropped: 4,
  },
  {
    name: "killed by its own SIGTERM: 128+15, calls before kept",
    body:
      `int main() { mark(9); fprintf(stderr, "dying\\n"); raise(SIGTERM); return 0; }`,
    code: 143,
    signal: "SIGTERM",
    marks: 9,
  },
  {
    name:
      "a write to a closed pipe kills it with SIGPIPE, 128+13, as without the tracer (Deno ignores SIGPIPE; the program must not inherit that)",
    body: `int main() { int fd[2]; pipe(fd); close(fd[0]); mark(2);
  fprintf(stderr, "writing\\n"); write(fd[1], "x", 1); mark(5); return 0; }`,
    code: 141,
    signal: "SIGPIPE",
    marks: 2,
  },
  {
    name: "exits non-zero: its code is ours",
    body: `int main() { mark(3); fprintf(stderr, "failing\\n"); exit(42); }`,
    code: 42,
    marks: 3,
  },
  {
    name:
      "exits 159 itself: its code is ours, no signal named (as a SIGSYS kill's 128+31 would be)",
    body: `int main() { mark(3); fprintf(stderr, "159\\n"); exit(159); }`,
    code: 159,
    marks: 3,
  },
  {
    name: "SIGKILL: 128+9, calls before kept",
    body:
      `int main() { mark(4); fprintf(stderr, "dying\\n"); raise(SIGKILL); return 0; }`,
    code: 137,
    signal: "SIGKILL",
    marks: 4,
  },
  {
    name:
      "a static binary: nothing to hook, it runs unharmed, its exit code is ours",
    cflags: ["-static"],
    body: `int main() { mark(3); fprintf(stderr, "static\\n"); return 3; }`,
    code: 3,
    marks: 0,
  },
  {
    name: "SIGSEGV: 128+11",
    body:
      `int main() { mark(2); fprintf(stderr, "crash\\n"); *(volatile int *)0 = 1; return 0; }`,
    code: 139,
    signal: "SIGSEGV",
    marks: 2,
  },
  {
    name: "stops itself, a child sends SIGCONT",
    // The child sends SIGCONT once the parent is stopped, not after a
    // sleep: a SIGCONT that comes before the SIGSTOP leaves the program
    // stopped for good, traced or not (on a loaded machine the parent could
    // take longer than the sleep to reach raise: the test hung once).
    body: `#include <string.h>
#include <sys/mman.h>
static char state(pid_t p) { char path[64], b[512]; snprintf(path, sizeof path, "/proc/%d/stat", p);
  FILE *f = fopen(path, "r"); size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0; if (f) fclose(f);
  b[n] = 0; char *e = strrchr(b, ')'); return e && e[1] ? e[2] : '?'; }
int main() { pid_t me = getpid(); mark(3);
  volatile int *stopping = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (fork() == 0) { while (!*stopping) usleep(1000);
    while (state(me) != 'T' && state(me) != 't') usleep(1000);
    kill(me, SIGCONT); _exit(0); }
  *stopping = 1; raise(SIGSTOP); mark(3); wait(0); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 6,
  },
  {
    name:
      "--breakpoints: malloc called with the stack at the edge of its mapping faults at its first push, as untraced (the emulated push's write fails: the real instruction runs)",
    flags: ["--breakpoints", "--no-stacks"],
    needsBreakpoints: true,
    cflags: ["-O0"],
    body: `#include <sys/mman.h>
static char *base;
static void on_segv(int s, siginfo_t *si, void *u) {
  char m[64];
  int n = snprintf(m, sizeof m, "fault %ld below the stack\\n", (long)(base - (char *)si->si_addr));
  write(2, m, n); _exit(7); }
int main() {
  char *two = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(two, 4096); base = two + 4096;
  stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 }; sigaltstack(&ss, 0);
  struct sigaction sa = { 0 }; sa.sa_sigaction = on_segv; sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, 0);
  /* The call's return address is the mapping's lowest word: malloc's
     first instruction, push %r12, writes below it. */
  __asm__ volatile("mov %%rsp, %%rbx\\n mov %0, %%rsp\\n mov $16, %%edi\\n call malloc@PLT\\n mov %%rbx, %%rsp"
    :: "r"(base + 8) : "rbx", "rdi", "rax", "memory");
  return 0; }`,
    code: 7,
    marks: 0,
    line: "fault 8 below the stack",
  },
  {
    name:
      "the main thread ends (pthread_exit) while another thread allocates: that thread's calls are all kept, with their stacks",
    body: `#include <string.h>
static pid_t leader;
/* Waits until the main thread has ended (a zombie), then allocates. */
void *w(void *a) { char path[64], st[256]; snprintf(path, sizeof path, "/proc/self/task/%d/stat", leader);
  for (;;) { FILE *f = fopen(path, "r"); if (!f) break; size_t n = fread(st, 1, sizeof st - 1, f); fclose(f);
    st[n] = 0; char *e = strrchr(st, ')'); if (!e || e[2] == 'Z' || e[2] == 'X') break; usleep(1000); }
  mark(30); fprintf(stderr, "ok\\n"); return 0; }
int main() { leader = getpid(); pthread_t t; pthread_create(&t, 0, w, 0); pthread_exit(0); }`,
    code: 0,
    marks: 30,
  },
  {
    name:
      "the main thread ends, then the thread memory was read through ends too: a third thread's calls are all kept (the ended main thread is not picked again)",
    body: `#include <string.h>
#include <sys/syscall.h>
static pid_t leader; static volatile pid_t atid;
/* Whether thread t has ended (a zombie or gone). */
static int gone(pid_t t) { char path[64], st[256]; snprintf(path, sizeof path, "/proc/self/task/%d/stat", t);
  FILE *f = fopen(path, "r"); if (!f) return 1; size_t n = fread(st, 1, sizeof st - 1, f); fclose(f);
  st[n] = 0; char *e = strrchr(st, ')'); return !e || e[2] == 'Z' || e[2] == 'X'; }
void *b(void *x) { while (!gone(atid)) usleep(1000); mark(30); fprintf(stderr, "ok\\n"); return 0; }
void *a(void *x) { atid = syscall(SYS_gettid); while (!gone(leader)) usleep(1000);
  pthread_t t; pthread_create(&t, 0, b, 0); pthread_detach(t); usleep(20000); pthread_exit(0); }
int main() { leader = getpid(); pthread_t t; pthread_create(&t, 0, a, 0); pthread_exit(0); }`,
    code: 0,
    marks: 30,
  },
  {
    name:
      "the main thread ends, then another thread execs: the new image is hooked (its memory and maps reached through the thread that exec'd, now the pid)",
    body: `#include <string.h>
static pid_t leader; static char *self;
/* Whether thread t has ended (a zombie or gone). */
static int gone(pid_t t) { char path[64], st[256]; snprintf(path, sizeof path, "/proc/self/task/%d/stat", t);
  FILE *f = fopen(path, "r"); if (!f) return 1; size_t n = fread(st, 1, sizeof st - 1, f); fclose(f);
  st[n] = 0; char *e = strrchr(st, ')'); return !e || e[2] == 'Z' || e[2] == 'X'; }
void *w(void *x) { mark(3); while (!gone(leader)) usleep(1000);
  execl(self, self, "again", (char *)0); _exit(9); }
int main(int argc, char **argv) { if (argc > 1) { mark(4); fprintf(stderr, "ok\\n"); return 0; }
  leader = getpid(); self = argv[0]; pthread_t t; pthread_create(&t, 0, w, 0); pthread_exit(0); }`,
    code: 0,
    marks: 7,
    live: 4,
    dropped: 3,
    droppedOthers: true, // the thread's own (pthread_create's)
  },
  {
    name:
      "a program that turns rdtsc off for itself (prctl PR_SET_TSC, PR_TSC_SIGSEGV): the stubs' reads of the counter are done by the tracer, no SIGSEGV",
    body: `#include <sys/prctl.h>
int main() { if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) != 0) return 9;
  mark(20); void *p = malloc(40); free(p); fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 20,
  },
  {
    name: "a signal handler that allocates",
    body: `static void h(int s) { mark(1); }
int main() { signal(SIGUSR1, h); for (int i = 0; i < 20; i++) raise(SIGUSR1);
  fprintf(stderr, "ok\\n"); return 0; }`,
    code: 0,
    marks: 20,
  },
];

for (const row of ROWS) {
  Deno.test({
    name: `native hostile: ${row.name}`,
    ignore: row.needsBreakpoints ? skipBreakpoints !== "" : skip !== "",
    async fn() {
      const name = `hostile_${ROWS.indexOf(row)}`;
      const bin = await compile(name, HEAD + row.body, [
        "-pthread",
        ...(row.cflags ?? []),
      ]);
      const work = await Deno.makeTempDir({ dir, prefix: `${name}-` });
      const before = `${work}/existing.txt`;
      await Deno.writeTextFile(before, "keep me\n");
      const r = await alloctrace([
        "native",
        "-q",
        "--top",
        "1000",
        ...(row.flags ?? []),
        "--json",
        `${work}/out.json`,
        "--",
        bin,
      ], ["-A"]);
      assertEquals(r.code, row.code, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      if (row.line !== undefined) assertEquals(r.stderr, `${row.line}\n`);
      const doc = JSON.parse(await Deno.readTextFile(`${work}/out.json`));
      assertEquals(doc.signal, row.signal ?? null, "the signal that killed it");
      const marks = doc.sizes.find((s: { limit: number }) => s.limit === 8192);
      assertEquals(marks?.count ?? 0, row.marks, JSON.stringify(doc.sizes));
      if (!row.flags?.includes("--no-stacks")) {
        // mark() frees nothing: every marker block is live at exit.
        const live = doc.sites
          .filter((s: { func: string }) => s.func === "mark")
          .reduce((a: number, s: { live: number }) => a + s.live, 0);
        assertEquals(live, row.live ?? row.marks, "marker blocks live at exit");
      }
      const dropped = {
        blocks: row.dropped ?? 0,
        bytes: (row.dropped ?? 0) * MARK,
      };
      if (row.droppedOthers) {
        const { blocks, bytes } = doc.droppedAtExec;
        assertTrue(
          blocks >= dropped.blocks && bytes >= dropped.bytes,
          `blocks dropped at an exec: ${JSON.stringify(doc.droppedAtExec)}`,
        );
      } else {
        assertEquals(doc.droppedAtExec, dropped, "blocks dropped at an exec");
      }
      assertEquals(doc.inheritedFrees, row.inherited ?? 0, "inherited frees");
      assertEquals(await Deno.readTextFile(before), "keep me\n");
      assertEquals(
        [...Deno.readDirSync(work)].map((e) => e.name).sort(),
        ["existing.txt", "out.json"],
      );
    },
  });
}
