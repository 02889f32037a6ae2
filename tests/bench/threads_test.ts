import { assertEquals } from "../_assert.ts";
import {
  classifyThreads,
  notePoll,
  type ThreadSeen,
} from "../../bench/_threads.ts";

// Review2 #1: a new thread bears its parent's name (`deno`) until it names
// itself. A poll in that window filed the Worker (and V8's workers) as the
// main thread for the rest of the run, so the bench printed "main 0.62 s"
// and no Worker for a run that did split.
Deno.test("threadSplit files a thread by the name it last had, main by tid", () => {
  const seen = new Map<number, ThreadSeen>();
  const pid = 28288;
  // The first poll sees every thread still called `deno`.
  notePoll(seen, 28288, "deno", 1e8);
  notePoll(seen, 28289, "deno", 1e6);
  notePoll(seen, 28294, "deno", 1e6);
  // Later polls see their own names.
  notePoll(seen, 28288, "deno", 305e6);
  notePoll(seen, 28289, "V8 DefaultWorke", 87e6);
  notePoll(seen, 28294, "worker-1", 213e6);
  // A thread that ended before naming itself is not the main thread.
  notePoll(seen, 28300, "deno", 4e6);
  const split = classifyThreads(pid, seen);
  assertEquals(
    Object.fromEntries(
      Object.entries(split).map(([k, v]) => [k, Math.round(v * 1000)]),
    ),
    { main: 305, "V8 background": 87, Worker: 213, other: 4 },
  );
});

Deno.test("threadSplit's main thread is the pid's, whatever it is named", () => {
  const seen = new Map<number, ThreadSeen>();
  notePoll(seen, 7, "alloctrace", 2e9);
  notePoll(seen, 8, "tokio-runtime-w", 1e9);
  assertEquals(classifyThreads(7, seen), { main: 2, other: 1 });
});
