/**
 * The reaper of a seize (seize.ts `seizeRunning`): a Worker, so a thread
 * of the tracer's process other than the tracer's own, that reaps the
 * ended threads of the process being seized while the tracer may be
 * blocked in a PTRACE_SEIZE.
 *
 * An exec by one thread kills the others and waits, holding the
 * process's cred_guard_mutex, until each is reaped; a thread we have
 * seized is reaped only by our wait, while a PTRACE_SEIZE of another of
 * its threads waits for that mutex: a deadlock (kernel ptrace_attach
 * against de_thread) that no order of seizes avoids, since any thread not
 * yet seized may start an exec. Any thread of the tracer's process may
 * reap the threads it traces (waitpid without __WNOTHREAD), so this one
 * does, every 2 ms, until told to stop.
 *
 * Messages in: `{ pid, stop }` (stop: a SharedArrayBuffer whose first
 * Int32 is set to 1 to end). Messages out: none.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { loadLibc } from "./ffi.ts";

const WALL_NOHANG = 0x40000001; // __WALL | WNOHANG

self.onmessage = (
  m: MessageEvent<{ pid: number; stop: SharedArrayBuffer }>,
) => {
  const { pid } = m.data;
  const stop = new Int32Array(m.data.stop);
  const c = loadLibc();
  const status = new Uint8Array(4);
  while (Atomics.load(stop, 0) === 0) {
    try {
      for (const d of Deno.readDirSync(`/proc/${pid}/task`)) {
        const tid = Number(d.name);
        if (tid === pid) continue; // the leader is reaped with its process
        let st: string;
        try {
          st = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/stat`);
        } catch {
          continue;
        }
        if (st[st.lastIndexOf(")") + 2] === "Z") {
          c.waitpid(tid, status, WALL_NOHANG);
        }
      }
    } catch {
      // the process is gone
    }
    Atomics.wait(stop, 0, 0, 2);
  }
  self.close();
};
