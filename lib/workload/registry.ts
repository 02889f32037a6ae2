/**
 * The built-in workloads, with their parameters, for the command line and
 * for `alloctrace workloads`.
 *
 * @module
 */

import type { Runtime } from "../runtime/runtime.ts";
import { binarytrees } from "./binarytrees.ts";
import { heapprofile } from "./heapprofile.ts";
import { multigo } from "./multigo.ts";
import { cache } from "./cache.ts";
import { leak } from "./leak.ts";
import { temporaries } from "./temporaries.ts";

/** A parameter of a workload. */
export interface WorkloadParam {
  /** Option name (`--depth`). */
  name: string;
  /** Default value. */
  default: number;
  /** Smallest and largest allowed value. */
  min: number;
  /** Largest allowed value. */
  max: number;
  /** What it means. */
  help: string;
}

/** A built-in workload. */
export interface Workload {
  /** Name on the command line. */
  name: string;
  /** One line about it. */
  summary: string;
  /** The Go program in tests/testdata/shared/go1.19/programs it mirrors, if any. */
  mirrors?: string;
  /** Its parameters. */
  params: WorkloadParam[];
  /** Runs it on `rt` with parameter values by name. */
  run(rt: Runtime, args: Record<string, number>): void;
}

/**
 * The built-in workloads, by name.
 *
 * @example
 * ```ts
 * import { WORKLOADS } from "../../mod.ts";
 * if (!WORKLOADS.some((w) => w.name === "binarytrees")) throw new Error();
 * ```
 */
export const WORKLOADS: readonly Workload[] = [
  {
    name: "binarytrees",
    summary:
      "binary-trees GC benchmark: short-lived trees of 16-byte nodes, one long-lived tree",
    mirrors: "binarytrees",
    params: [{
      name: "depth",
      default: 10,
      min: 0,
      max: 30,
      help: "maximum tree depth (at least 6 is used)",
    }],
    run: (rt, a) => void binarytrees(rt, { depth: a.depth }),
  },
  {
    name: "leak",
    summary:
      "records and payloads appended to a global slice that is never trimmed, plus dropped scratch buffers",
    mirrors: "leak",
    params: [{
      name: "n",
      default: 2000,
      min: 0,
      max: 10_000_000,
      help: "iterations",
    }],
    run: (rt, a) => void leak(rt, { n: a.n }),
  },
  {
    name: "temporaries",
    summary:
      "short-lived objects of many sizes and kinds (slices, channels, strings, maps, tiny objects)",
    mirrors: "temporaries",
    params: [{
      name: "n",
      default: 300,
      min: 0,
      max: 10_000_000,
      help: "iterations per phase",
    }],
    run: (rt, a) => temporaries(rt, { n: a.n }),
  },
  {
    name: "heapprofile",
    summary:
      "64-byte and 8-KiB objects, every second one kept: the pattern of the shared real heap profiles",
    mirrors: "heapprofile",
    params: [
      {
        name: "small",
        default: 1_000_000,
        min: 0,
        max: 100_000_000,
        help: "64-byte objects",
      },
      {
        name: "large",
        default: 10_000,
        min: 0,
        max: 10_000_000,
        help: "8192-byte objects",
      },
    ],
    run: (rt, a) => heapprofile(rt, { small: a.small, large: a.large }),
  },
  {
    name: "multigo",
    summary:
      "worker goroutines on several Ps taking turns at jobs; every 8th result kept",
    params: [
      { name: "workers", default: 8, min: 1, max: 10_000, help: "goroutines" },
      {
        name: "jobs",
        default: 10_000,
        min: 0,
        max: 100_000_000,
        help: "jobs in all",
      },
    ],
    run: (rt, a) => void multigo(rt, { workers: a.workers, jobs: a.jobs }),
  },
  {
    name: "cache",
    summary:
      "an LRU cache with eviction: long-lived entries, churn, values of 32 B to 16 KiB (realistic mix)",
    params: [
      {
        name: "requests",
        default: 100_000,
        min: 0,
        max: 100_000_000,
        help: "requests",
      },
      {
        name: "capacity",
        default: 5000,
        min: 1,
        max: 10_000_000,
        help: "entries kept",
      },
    ],
    run: (rt, a) =>
      void cache(rt, { requests: a.requests, capacity: a.capacity }),
  },
];

/** The workload of that name, or undefined. */
export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
