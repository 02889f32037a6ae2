/**
 * The shared ring under a seccomp filter (`Seccomp: 2`: every Docker
 * container, most systemd services). The filter cannot be read without
 * CAP_SYS_ADMIN, so the calls that share the ring are tried first in a
 * throwaway child of the program (lib/native/ring_map.ts): under a filter
 * that allows them the ring is shared; under one that refuses
 * memfd_create (EPERM) or kills on it (SIGSYS), it is read by system
 * call, with the same events. The program is told nothing of the child:
 * no SIGCHLD, no child left for its wait.
 */
import { assertEquals } from "../_assert.ts";
import { compile, dir, skip, trace } from "./_support.ts";

const N = 20000;

// Runs argv[2...] under a seccomp filter: "allow" allows every call,
// "eperm" fails memfd_create with EPERM, "kill" kills on it.
const LAUNCH = `#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
int main(int argc, char **argv) {
  unsigned deny = strcmp(argv[1], "kill") == 0 ? SECCOMP_RET_KILL_PROCESS
    : strcmp(argv[1], "eperm") == 0 ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_ALLOW;
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, deny),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = { 4, f };
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) { perror("seccomp"); return 2; }
  execv(argv[2], argv + 2);
  perror("exec");
  return 3;
}
`;

// N malloc(4321)/free pairs; then writes to argv[1] its seccomp mode, how
// many shared ring mappings it has, the SIGCHLDs it got and what a wait
// for any child gives (-1: none); exits 7.
const PROG = `#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
static volatile int chld;
static void on(int s) { (void)s; chld++; }
void *volatile keep;
int main(int argc, char **argv) {
  signal(SIGCHLD, on);
  for (int i = 0; i < ${N}; i++) { keep = malloc(4321); free(keep); }
  char l[512];
  int ring = 0, mode = -1;
  FILE *f = fopen("/proc/self/maps", "r");
  while (fgets(l, sizeof l, f))
    if (strstr(l, "/memfd:alloctrace-ring") && strstr(l, " rw-s ")) ring++;
  fclose(f);
  f = fopen("/proc/self/status", "r");
  while (fgets(l, sizeof l, f)) sscanf(l, "Seccomp: %d", &mode);
  fclose(f);
  int st;
  FILE *out = fopen(argv[1], "w");
  fprintf(out, "%d %d %d %d\\n", mode, ring, chld, (int)waitpid(-1, &st, __WALL | WNOHANG));
  fclose(out);
  return 7;
}
`;

for (
  const [filter, ring] of [["allow", 1], ["eperm", 0], ["kill", 0]] as const
) {
  Deno.test({
    name: `native under a seccomp filter that ${
      filter === "allow"
        ? "allows every call: the ring is shared"
        : filter === "eperm"
        ? "fails memfd_create with EPERM: the ring is read by system call"
        : "kills on memfd_create: only the throwaway child dies, the ring is read by system call"
    }, every call kept, the program told nothing (no SIGCHLD, no child to wait for)`,
    ignore: skip !== "",
    async fn() {
      const launch = await compile("seccomp_launch", LAUNCH);
      const prog = await compile("seccomp_prog", PROG);
      const said = `${dir}/seccomp_${filter}.txt`;
      const plain = await new Deno.Command(launch, {
        args: [filter, prog, said],
      }).output();
      assertEquals(plain.code, 7, "untraced, it runs");
      assertEquals(
        (await Deno.readTextFile(said)).trim(),
        "2 0 0 -1",
        "untraced: filtered, no ring, no child",
      );
      const { code, events } = trace([launch, filter, prog, said]);
      assertEquals(code, 7, "its own exit code");
      const mine = (k: string) =>
        events.filter((e) => e.kind === k && (k === "free" || e.size === 4321))
          .length;
      assertEquals(mine("malloc"), N, "its mallocs");
      assertEquals(
        (await Deno.readTextFile(said)).trim(),
        `2 ${ring} 0 -1`,
        "seccomp mode, shared rings, SIGCHLDs, a child to wait for",
      );
    },
  });
}
