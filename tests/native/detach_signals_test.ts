/**
 * The detach steps a thread stopped inside a stub out of it one instruction
 * at a time (attach.ts `_stepOutOfStubs`); a signal for the program met on
 * the way is given back when it is let go. It kept one per thread: a second
 * one met there was swallowed (the step resumes with no signal), and a
 * program waiting for it waited for ever.
 *
 * The thread here is a real one, stopped with two signals of the program's
 * pending; its process stands in for a traced one whose pc is inside the
 * injected code for the first steps.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { compile, skip, sleep } from "./_support.ts";
import { loadLibc, PT } from "../../lib/native/ffi.ts";
import { detachAll } from "../../lib/native/attach.ts";
import { seizeThread, spawnStopped } from "../../lib/native/seize.ts";
import { EV_EXEC, EV_STOP, Tracee, WALL } from "../../lib/native/tracee.ts";
import type { Proc } from "../../lib/native/traced_proc.ts";

const WAITS_TWO = `#include <signal.h>
#include <stdio.h>
#include <unistd.h>
volatile sig_atomic_t got1, got2;
static void h1(int s) { got1 = 1; }
static void h2(int s) { got2 = 1; }
int main(int argc, char **argv) {
  alarm(60); /* never left spinning */
  signal(SIGUSR1, h1);
  signal(SIGUSR2, h2);
  FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\\n", getpid()); fclose(f);
  while (!(got1 && got2)) {}
  return got1 + 2 * got2;
}
`;

const SIGUSR1 = 10;
const SIGUSR2 = 12;
const SIGCONT = 18;

Deno.test({
  name:
    "native -p detach: two signals of the program's met while a thread is stepped out of a stub both reach it (the second was swallowed)",
  ignore: skip !== "",
  async fn() {
    const bin = await compile("waits_two", WAITS_TWO);
    const ready = `${bin}.pid`;
    const c = loadLibc();
    const t = new Tracee(c);
    // Started as the tracer starts a program (the runtime never waits for
    // it: its stops are ours alone), and followed to its exec.
    const pid = spawnStopped(c, [bin, ready]);
    let ended = false;
    try {
      seizeThread(c, pid, pid, false, PT.O_TRACEEXEC | PT.O_EXITKILL);
      c.kill(pid, SIGCONT);
      for (;;) {
        const { s } = t.wait(pid, WALL);
        if ((s & 0xff) !== 0x7f) throw new Error(`it ended: status ${s}`);
        const sig = (s >> 8) & 0xff;
        if (s >>> 16 === EV_EXEC) break;
        t.cont(pid, s >>> 16 === 0 && sig !== SIGCONT ? sig : 0);
      }
      t.cont(pid);
      for (let i = 0; i < 400; i++) {
        if ((await Deno.readTextFile(ready).catch(() => "")).endsWith("\n")) {
          break;
        }
        await sleep(25);
      }
      // Stopped, then two signals pending: the steps meet them.
      t.interrupt(pid);
      const stop = t.wait(pid, WALL).s;
      assertEquals(stop >>> 16, EV_STOP, `an interrupt's stop: ${stop}`);
      c.kill(pid, SIGUSR1);
      c.kill(pid, SIGUSR2);
      // In the injected code for its first 50 looks: stepped that long.
      let looks = 0;
      const mode = {
        inStub: () => looks++ < 50,
        fullTrap: () => false,
        readsClock: () => false,
        trap: () => false,
        drain: () => 0,
        remove: () => {},
        close: () => {},
      };
      const proc = { pid, mode, execBp: 0, rbrk: 0 } as unknown as Proc;
      detachAll(t, {
        alive: new Set([pid]),
        exiting: new Set(),
        procOf: new Map([[pid, proc]]),
        threadExits: () => {},
      }, t.stops());
      assertTrue(looks >= 50, `stepped (${looks} looks)`);
      // Let go: it ends once both handlers ran (with one lost it spins
      // until its alarm).
      const status = new Int32Array(1);
      const st8 = new Uint8Array(status.buffer);
      let code = -1;
      for (let i = 0; i < 800 && code < 0; i++) {
        if (c.waitpid(pid, st8, 1 /* WNOHANG */) === pid) {
          ended = true;
          code = (status[0] & 0x7f) === 0 ? (status[0] >> 8) & 0xff : -2;
        } else await sleep(25);
      }
      assertEquals(code, 3, "both handlers ran, and it exited");
    } finally {
      if (!ended) {
        c.kill(pid, 9);
        c.waitpid(pid, new Uint8Array(4), 0);
      }
    }
  },
});
