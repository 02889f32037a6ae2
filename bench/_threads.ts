/**
 * On-CPU time of a process's threads by kind, watched from outside through
 * `/proc/PID/task` (Linux only): what `bench/analyze_vs_grep.ts` prints as
 * "analyze CPU seconds by thread".
 *
 * @module
 */

/** One thread's latest poll: its name then and its on-CPU nanoseconds. */
export interface ThreadSeen {
  comm: string;
  ns: number;
}

/**
 * Folds one poll of thread `tid` into `seen`. The name read at this poll
 * replaces the one before: a new thread bears its parent's name (`deno`)
 * until it names itself (`worker-1`, `V8 DefaultWorke…`), and a poll in
 * that window must not file it for good.
 */
export function notePoll(
  seen: Map<number, ThreadSeen>,
  tid: number,
  comm: string,
  ns: number,
): void {
  seen.set(tid, { comm, ns });
}

/**
 * Sums the threads' on-CPU seconds by kind: `main` is the thread whose tid
 * is `pid`, whatever its name; the others by the name they last had
 * (`worker…`: the Worker, `V8 …`: V8's background threads; anything else,
 * a thread still called `deno` included: `other`).
 */
export function classifyThreads(
  pid: number,
  seen: Map<number, ThreadSeen>,
): Record<string, number> {
  const split: Record<string, number> = {};
  for (const [tid, { comm, ns }] of seen) {
    const kind = tid === pid
      ? "main"
      : comm.startsWith("worker")
      ? "Worker"
      : comm.startsWith("V8 ")
      ? "V8 background"
      : "other";
    split[kind] = (split[kind] ?? 0) + ns / 1e9;
  }
  return split;
}

/**
 * Runs `cmd args` and returns its threads' on-CPU seconds by kind (see
 * {@linkcode classifyThreads}), each thread's schedstat and name read every
 * 2 ms until it exits; null where /proc has none.
 */
export async function threadSplit(
  cmd: string,
  args: string[],
): Promise<Record<string, number> | null> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const task = `/proc/${child.pid}/task`;
  const seen = new Map<number, ThreadSeen>();
  let done = false;
  const status = child.status.then(() => done = true);
  while (!done) {
    try {
      for (const e of Deno.readDirSync(task)) {
        try {
          const ns = Number(
            Deno.readTextFileSync(`${task}/${e.name}/schedstat`).split(" ")[0],
          );
          const comm = Deno.readTextFileSync(`${task}/${e.name}/comm`).trim();
          notePoll(seen, Number(e.name), comm, ns);
        } catch {
          // (The thread ended between the listing and the read: its last
          // poll stands.)
        }
      }
    } catch {
      // (The process ended.)
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await status;
  return seen.size === 0 ? null : classifyThreads(child.pid, seen);
}
