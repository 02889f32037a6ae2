/**
 * The wire format of Go's v2 execution traces (Go 1.22+): the header, the
 * event type bytes and how many uvarint arguments each one carries, as
 * `internal/trace/event/go122/event.go` in Go 1.23 lists them. The numbers
 * are facts of the format, checked against Go's source by a test.
 *
 * @module
 */

/** Event type bytes (go122/event.go: `EvNone` is 0, then in order). */
export const Ev = {
  EventBatch: 1,
  Stacks: 2,
  Stack: 3,
  Strings: 4,
  String: 5,
  CPUSamples: 6,
  CPUSample: 7,
  Frequency: 8,
  ProcsChange: 9,
  ProcStart: 10,
  ProcStop: 11,
  ProcSteal: 12,
  ProcStatus: 13,
  GoCreate: 14,
  GoCreateSyscall: 15,
  GoStart: 16,
  GoDestroy: 17,
  GoDestroySyscall: 18,
  GoStop: 19,
  GoBlock: 20,
  GoUnblock: 21,
  GoSyscallBegin: 22,
  GoSyscallEnd: 23,
  GoSyscallEndBlocked: 24,
  GoStatus: 25,
  STWBegin: 26,
  STWEnd: 27,
  GCActive: 28,
  GCBegin: 29,
  GCEnd: 30,
  GCSweepActive: 31,
  GCSweepBegin: 32,
  GCSweepEnd: 33,
  GCMarkAssistActive: 34,
  GCMarkAssistBegin: 35,
  GCMarkAssistEnd: 36,
  HeapAlloc: 37,
  HeapGoal: 38,
  GoLabel: 39,
  UserTaskBegin: 40,
  UserTaskEnd: 41,
  UserRegionBegin: 42,
  UserRegionEnd: 43,
  UserLog: 44,
  GoSwitch: 45,
  GoSwitchDestroy: 46,
  GoCreateBlocked: 47,
  GoStatusStack: 48,
  ExperimentalBatch: 49,
  // The AllocFree experiment's events (127 + iota, from 128).
  Span: 128,
  SpanAlloc: 129,
  SpanFree: 130,
  HeapObject: 131,
  HeapObjectAlloc: 132,
  HeapObjectFree: 133,
  GoroutineStack: 134,
  GoroutineStackAlloc: 135,
  GoroutineStackFree: 136,
} as const;

/** The experiment id of AllocFree in an `ExperimentalBatch` header. */
export const EXPERIMENT_ALLOC_FREE = 1;
/** First byte of an AllocFree batch's data: the type table (runtime/traceallocfree.go). */
export const ALLOC_FREE_TYPES_BATCH = 0;
/** First byte of an AllocFree batch's data: the address info (runtime/traceallocfree.go). */
export const ALLOC_FREE_INFO_BATCH = 1;
/** `MaxBatchSize` in go122/event.go: a batch larger than this is corrupt. */
export const MAX_BATCH_SIZE = 64 << 10;
/** `MaxFramesPerStack`, bounding a stack's frame count. */
export const MAX_FRAMES_PER_STACK = 128;
/** Bytes of the header `go 1.NN trace\0\0\0`. */
export const HEADER_SIZE = 16;

/** Names by type byte, as Go's `-d=2` dump prints them. */
export const EV_NAMES: readonly string[] = (() => {
  const names: string[] = new Array(256).fill("");
  for (const [name, t] of Object.entries(Ev)) names[t] = name;
  return names;
})();

/**
 * Uvarint arguments of each event type that may appear inside an event
 * batch, the timestamp delta included; -1 for a byte that is no such event.
 * (`Stack`, `String` and the batch headers have their own shapes.)
 */
export const ARG_COUNTS: Int8Array = (() => {
  const a = new Int8Array(256).fill(-1);
  const set = (n: number, ...ts: number[]) => {
    for (const t of ts) a[t] = n;
  };
  set(0, Ev.Stacks, Ev.Strings, Ev.CPUSamples);
  set(1, Ev.Frequency, Ev.ProcStop, Ev.GoDestroy, Ev.GoDestroySyscall);
  set(1, Ev.GoSyscallEnd, Ev.GoSyscallEndBlocked, Ev.STWEnd);
  set(1, Ev.GCMarkAssistEnd);
  set(2, Ev.GoCreateSyscall, Ev.GCActive, Ev.GCEnd, Ev.GCSweepActive);
  set(2, Ev.GCSweepBegin, Ev.GCMarkAssistActive, Ev.GCMarkAssistBegin);
  set(2, Ev.HeapAlloc, Ev.HeapGoal, Ev.GoLabel);
  set(2, Ev.SpanFree, Ev.HeapObjectFree, Ev.GoroutineStackFree);
  set(3, Ev.ProcsChange, Ev.ProcStart, Ev.ProcStatus, Ev.GoStart);
  set(3, Ev.GoStop, Ev.GoBlock, Ev.GoSyscallBegin, Ev.STWBegin);
  set(3, Ev.GCBegin, Ev.GCSweepEnd, Ev.UserTaskEnd, Ev.GoSwitch);
  set(3, Ev.GoSwitchDestroy, Ev.HeapObject, Ev.HeapObjectAlloc);
  set(3, Ev.GoroutineStack, Ev.GoroutineStackAlloc);
  set(4, Ev.ProcSteal, Ev.GoCreate, Ev.GoUnblock, Ev.GoStatus);
  set(4, Ev.UserRegionBegin, Ev.UserRegionEnd, Ev.GoCreateBlocked);
  set(4, Ev.Span, Ev.SpanAlloc);
  set(5, Ev.CPUSample, Ev.UserTaskBegin, Ev.UserLog, Ev.GoStatusStack);
  return a;
})();

/** What a trace's first bytes say. */
export type HeaderInfo =
  | { kind: "exec"; version: number }
  | { kind: "other" };

/**
 * Reads the header `go 1.NN trace` (Go writes `go 1.%d trace\0\0\0`; the
 * 1.5–1.21 formats share its start). Needs the first 16 bytes; returns
 * `other` for anything else.
 *
 * @example
 * ```ts
 * import { readHeader } from "./format.ts";
 * const h = readHeader(new TextEncoder().encode("go 1.23 trace\0\0\0"));
 * if (h.kind !== "exec" || h.version !== 23) throw new Error();
 * if (readHeader(new TextEncoder().encode("tracealloc(0xc0)")).kind !== "other") throw new Error();
 * ```
 */
export function readHeader(head: Uint8Array): HeaderInfo {
  const prefix = "go 1.";
  if (head.length < prefix.length + 2) return { kind: "other" };
  for (let i = 0; i < prefix.length; i++) {
    if (head[i] !== prefix.charCodeAt(i)) return { kind: "other" };
  }
  let i = prefix.length;
  let v = 0;
  while (i < head.length && i < 9 && head[i] >= 0x30 && head[i] <= 0x39) {
    v = v * 10 + head[i++] - 0x30;
  }
  const rest = " trace";
  if (i === prefix.length || head.length < i + rest.length) {
    return { kind: "other" };
  }
  for (let j = 0; j < rest.length; j++) {
    if (head[i + j] !== rest.charCodeAt(j)) return { kind: "other" };
  }
  return { kind: "exec", version: v };
}

/**
 * Whether this reader decodes version `1.v`: 1.22 (the v2 format, which
 * has no AllocFree events) and 1.23 (which Go 1.24 writes too: its
 * `internal/trace/version` has no 1.24 entry). 1.25 added sync batches;
 * 1.5–1.21 used another format.
 */
export function supportedVersion(v: number): boolean {
  return v === 22 || v === 23;
}

/** The one-line reason a version is refused. */
export function unsupportedVersionMessage(v: number): string {
  if (v >= 5 && v <= 21) {
    return `a Go 1.${v} execution trace: the pre-1.22 format, which has no allocation events (traceallocfree needs Go 1.23+); this reader reads go 1.22 and go 1.23 headers (Go 1.23 and 1.24)`;
  }
  return `a Go 1.${v} execution trace: version not supported; this reader reads go 1.22 and go 1.23 headers (Go 1.23 and 1.24)`;
}
