/**
 * The bad-input suite's outputs: never destroy a file (the input, symlinks,
 * planted temporaries, modes, devices, FIFOs, full disks), closed pipes and
 * signals. The assertions each row gets are in `_bad_input.ts`.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import {
  badInputSuite,
  BT,
  copy,
  dec,
  hasTool,
  LEAK,
  LEAK_COUNTS,
  leakLines,
  mountFull,
  NOBODY,
  nobodyOk,
  rootOnly,
  type Row,
  SHARED,
  tmpfsOk,
} from "./_bad_input.ts";

// A child that makes the file t.trace.PID (its own pid) before its calls:
// the name native would give its trace is taken.
const FORK_TAKES_ITS_NAME = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
  void *volatile p = malloc(100);
  pid_t c = fork();
  if (c == 0) {
    char n[64];
    snprintf(n, sizeof n, "t.trace.%d", (int)getpid());
    FILE *f = fopen(n, "w");
    fputs("the child's own\\n", f);
    fclose(f);
    free(malloc(50));
    _exit(0);
  }
  waitpid(c, 0, 0);
  free(p);
  return 0;
}
`;

// review1 #4: the parent makes a directory of t.trace after its child ran:
// FILE's commit fails, and the child's trace must not be left behind.
const FILE_BECOMES_DIR = `#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
void *volatile keep[64];
int main(void) {
  keep[0] = malloc(100);
  pid_t c = fork();
  if (c == 0) { for (int i = 0; i < 3; i++) keep[i] = malloc(50); _exit(0); }
  waitpid(c, 0, 0);
  unlink("t.trace"); mkdir("t.trace", 0755);
  keep[1] = malloc(70);
  return 0;
}
`;

// review1 #3: N children in turn, one malloc each (the parent one before).
const MANY_CHILDREN = `#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile keep[4];
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  keep[0] = malloc(10);
  for (int k = 0; k < n; k++) {
    pid_t c = fork();
    if (c == 0) { keep[1] = malloc(20); _exit(0); }
    waitpid(c, 0, 0);
  }
  return 0;
}
`;

const ROWS: Row[] = [
  // --- outputs: never destroy a file ---------------------------------------
  {
    name: "an output path equal to the input is refused before reading",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["analyze", "t.trace", "--pprof", "t.trace"],
    code: 2,
    stderr: /--pprof t\.trace is the input t\.trace/,
  },
  {
    name: "an output that is a symlink to the input is refused",
    setup: ({ dir }) => {
      copy(LEAK, `${dir}/t.trace`);
      Deno.symlinkSync("t.trace", `${dir}/link`);
    },
    args: ["analyze", "t.trace", "--folded", "link"],
    code: 2,
    stderr: /--folded link is the input t\.trace/,
  },
  {
    name: "an output equal to the file on stdin is refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    shell: `$AT analyze - --html t.trace < t.trace`,
    code: 2,
    stderr: /--html t\.trace is the input \(stdin\)/,
  },
  {
    name: "diff: an output equal to B is refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["diff", LEAK, "t.trace", "--html", "./t.trace"],
    code: 2,
    stderr: /--html \.\/t\.trace is the input t\.trace/,
  },
  {
    name: "a read-only input named as the output is refused as the input",
    setup: ({ dir }) => {
      copy(LEAK, `${dir}/t.trace`);
      Deno.chmodSync(`${dir}/t.trace`, 0o444);
    },
    args: ["analyze", "t.trace", "--pprof", "t.trace"],
    code: 2,
    stderr: /--pprof t\.trace is the input t\.trace/,
  },
  {
    name:
      "a read-only input given on stdin and named as the output is refused as the input",
    setup: ({ dir }) => {
      copy(LEAK, `${dir}/t.trace`);
      Deno.chmodSync(`${dir}/t.trace`, 0o444);
    },
    shell: `$AT analyze - --html t.trace < t.trace`,
    code: 2,
    stderr: /--html t\.trace is the input \(stdin\)/,
  },
  {
    name: "two outputs on one path are refused",
    setup: ({ dir }) => copy(LEAK, `${dir}/t.trace`),
    args: ["analyze", "t.trace", "--pprof", "o", "--folded", "./o"],
    code: 2,
    stderr: /--pprof and --folded name one file/,
  },
  {
    name: "run: two outputs on one path are refused",
    args: ["run", "leak", "--memprofile", "o", "--html", "o"],
    code: 2,
    stderr: /--memprofile and --html name one file/,
  },
  {
    name: "an empty output path is a usage error",
    args: ["analyze", LEAK, "--html", ""],
    code: 2,
    stderr: /--html needs a file name/,
  },
  {
    name: "run: an empty output path is a usage error",
    args: ["run", "leak", "--folded", ""],
    code: 2,
    stderr: /--folded needs a file name/,
  },
  {
    name: "an output in a missing directory fails before reading",
    args: ["analyze", LEAK, "--pprof", "nodir/p.pb.gz"],
    code: 2,
    stderr: /--pprof nodir\/p\.pb\.gz: directory nodir does not exist/,
  },
  {
    name: "an output without read permission on its directory names the flag",
    args: ["analyze", LEAK, "--pprof", "p.pb.gz"],
    perms: ["--no-prompt", `--allow-read=${LEAK}`, "--allow-write=."],
    code: 2,
    stderr:
      /--pprof p\.pb\.gz: permission to read \. is missing \(run with --allow-read=\.\)/,
  },
  {
    name: "an output without write permission on its directory names the flag",
    args: ["analyze", LEAK, "--pprof", "p.pb.gz"],
    perms: ["--no-prompt", `--allow-read=${LEAK},.`],
    code: 2,
    stderr:
      /--pprof p\.pb\.gz: permission to write in \. is missing \(run with --allow-write=\.\)/,
  },
  {
    name: "an output that is a directory fails before reading",
    setup: ({ dir }) => Deno.mkdirSync(`${dir}/sub`),
    args: ["analyze", LEAK, "--pprof", "sub"],
    code: 2,
    stderr: /--pprof sub is a directory/,
  },
  // newuser: a read-only output (chmod a-w, a file one means to keep) was
  // replaced all the same, by rename, as its owner or as root, with its mode.
  // The shell's `>` and go tool pprof -output refuse it.
  ...["analyze", "run"].map((cmd): Row => ({
    name: `${cmd}: a read-only output file is left alone, before any work`,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/keep.html`, "mine\n");
      Deno.chmodSync(`${dir}/keep.html`, 0o444);
    },
    args: cmd === "run"
      ? ["run", "leak", "--n", "10", "--html", "keep.html"]
      : ["analyze", LEAK, "--html", "keep.html"],
    code: 2,
    stderr:
      /^alloctrace: --html keep\.html is read-only \(mode 0444\): make it writable or choose another file$/,
  })),
  // OS errors in one line: the option, the path once, the reason (not the
  // system call and the path again, which a 5,000-byte name made unreadable).
  {
    name: "an output name longer than the file system allows: one clear line",
    args: ["analyze", LEAK, "--html", `${"x".repeat(300)}.html`],
    code: 2,
    stderr:
      /^alloctrace: --html x{300}\.html: File name too long \(os error 36\)$/,
  },
  {
    name: "an output under a regular file (not a directory): one clear line",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/f`, "a file\n"),
    args: ["analyze", LEAK, "--pprof", "f/p.pb.gz"],
    code: 2,
    stderr:
      /^alloctrace: --pprof f\/p\.pb\.gz: Not a directory \(os error 20\)$/,
  },
  {
    name: "an output that is a symlink loop: one clear line",
    setup: ({ dir }) => Deno.symlinkSync("loop", `${dir}/loop`),
    args: ["analyze", LEAK, "--folded", "loop"],
    code: 2,
    stderr:
      /^alloctrace: --folded loop: Too many levels of symbolic links \(os error 40\)$/,
  },
  {
    name: "an input that is a symlink loop: one clear line",
    setup: ({ dir }) => Deno.symlinkSync("loop", `${dir}/loop`),
    args: ["analyze", "loop"],
    code: 1,
    stderr:
      /^alloctrace: loop: Too many levels of symbolic links \(os error 40\)$/,
  },
  {
    name: "an input name longer than the file system allows: one clear line",
    args: ["analyze", `${"y".repeat(300)}.trace`],
    code: 1,
    stderr: /^alloctrace: y{300}\.trace: File name too long \(os error 36\)$/,
  },
  {
    name: "a symlink to a missing file is not followed",
    setup: ({ dir }) => Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`),
    args: ["analyze", LEAK, "--folded", "dangling"],
    code: 2,
    stderr: /dangling is a symbolic link to a missing file/,
  },
  {
    name: "a symlink to a regular file: the file is replaced, the link stays",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/real.txt`, "old\n");
      Deno.symlinkSync("real.txt", `${dir}/out.txt`);
    },
    args: ["analyze", LEAK, "--folded", "out.txt", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["real.txt"],
    check: ({ dir }) => {
      assertEquals(Deno.readLinkSync(`${dir}/out.txt`), "real.txt");
      assertTrue(
        Deno.readTextFileSync(`${dir}/real.txt`).includes("main.makePayload"),
      );
    },
  },
  {
    name: "replacing a file keeps its mode",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/p.txt`, "old\n");
      Deno.chmodSync(`${dir}/p.txt`, 0o640);
    },
    args: ["analyze", LEAK, "--folded", "p.txt", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["p.txt"],
    check: ({ dir }) =>
      assertEquals(Deno.statSync(`${dir}/p.txt`).mode! & 0o777, 0o640),
  },
  // Found running the suite under umask 077: the replacement was made with
  // the old file's mode through open(), which the umask masks (0640 became
  // 0600).
  {
    name: "replacing a file keeps its mode under umask 077",
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/p.txt`, "old\n");
      Deno.chmodSync(`${dir}/p.txt`, 0o664);
    },
    shell: `umask 077; $AT analyze "${LEAK}" --folded p.txt --json`,
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["p.txt"],
    check: ({ dir }) =>
      assertEquals(Deno.statSync(`${dir}/p.txt`).mode! & 0o777, 0o664),
  },
  {
    name:
      "planted temporary names (symlinks to a root-only file at every .NAME.tmp-PID) change nothing",
    needs: rootOnly,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      Deno.chmodSync(dir, 0o1777);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      // The next few thousand process ids: the command's is among them.
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(`${dir}/victim`, `${dir}/.out.html.tmp-${pid}`);
      }
    },
    args: ["analyze", LEAK, "--html", "out.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["out.html"],
  },
  {
    name:
      "as nobody: planted temporary names (symlinks to the user's own file at every .NAME.tmp-PID) change nothing",
    needs: nobodyOk,
    nobody: true,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
      Deno.chmodSync(`${dir}/victim`, 0o600);
      Deno.chownSync(`${dir}/victim`, NOBODY, NOBODY);
      Deno.mkdirSync(`${dir}/shared`, { mode: 0o1777 });
      Deno.chmodSync(`${dir}/shared`, 0o1777);
      const last = Number(
        Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim(),
      );
      for (let pid = last + 1; pid < last + 4000; pid++) {
        Deno.symlinkSync(
          `${dir}/victim`,
          `${dir}/shared/.out.html.tmp-${pid}`,
        );
      }
    },
    args: ["analyze", LEAK, "--html", "shared/out.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["shared/out.html"],
  },
  {
    name: "as nobody: --folded /dev/stdout goes into the pipe",
    needs: nobodyOk,
    nobody: true,
    shell: `$AT analyze "${LEAK}" --folded /dev/stdout | cat`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertTrue(stdout.includes("main.makePayload"), stdout),
  },
  {
    name: "as nobody: /dev/null and /dev/full as outputs",
    needs: nobodyOk,
    nobody: true,
    args: [
      "analyze",
      LEAK,
      "--html",
      "/dev/null",
      "--pprof",
      "/dev/full",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    counts: LEAK_COUNTS,
    check: () => assertTrue(Deno.statSync("/dev/null").isCharDevice),
  },
  {
    name:
      "as nobody: an output in a directory it cannot write fails before reading",
    needs: nobodyOk,
    nobody: true,
    // (chmod: mkdir's mode is masked by the umask, and under 077 the
    // directory was one nobody could not even enter.)
    setup: ({ dir }) => {
      Deno.mkdirSync(`${dir}/ro`);
      Deno.chmodSync(`${dir}/ro`, 0o755);
    },
    args: ["analyze", LEAK, "--pprof", "ro/p.pb.gz"],
    code: 2,
    stderr:
      /--pprof ro\/p\.pb\.gz: cannot create a file in ro: Permission denied/,
  },
  {
    name: "/dev/null as an output stays a device",
    args: ["analyze", LEAK, "--pprof", "/dev/null", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    check: () => assertTrue(Deno.statSync("/dev/null").isCharDevice),
  },
  {
    name: "a device made with mknod is written, not replaced",
    needs: rootOnly,
    setup: ({ dir }) => {
      const r = new Deno.Command("mknod", {
        args: [`${dir}/null`, "c", "1", "3"],
      }).outputSync();
      assertTrue(r.success, dec.decode(r.stderr));
    },
    args: ["analyze", LEAK, "--html", "null", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name:
      "/dev/full: ENOSPC names the file, exits 1; the other outputs and stdout still get theirs",
    args: [
      "analyze",
      LEAK,
      "--pprof",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    counts: LEAK_COUNTS,
    changes: ["f.txt"],
  },
  {
    name:
      "run: one output on /dev/full fails at the end; the others and the JSON summary are written",
    args: [
      "run",
      "leak",
      "--n",
      "100",
      "--memprofile",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    changes: ["f.txt"],
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).written, { folded: "f.txt" }),
  },
  {
    name:
      "replay: one output on /dev/full fails at the end; the others and the JSON are written",
    args: [
      "replay",
      LEAK,
      "--memprofile-text",
      "/dev/full",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write \/dev\/full: No space left on device/,
    changes: ["f.txt"],
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).replayed.allocs, LEAK_COUNTS.allocs),
  },
  {
    name: "$&, $', $` and $$ in function and file names: one HTML page",
    setup: ({ dir }) =>
      Deno.writeFileSync(
        `${dir}/dollar.trace`,
        leakLines((ls) =>
          ls.map((l) =>
            // (Function replacers: a string one reads the $ patterns.)
            l.replaceAll("main.makePayload", () => "main.make$&Pay$'lo$`ad$$")
              .replaceAll("leak/main.go", () => "leak/$&ma$'in$`.go")
          )
        ),
      ),
    args: ["analyze", "dollar.trace", "--html", "r.html", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["r.html"],
    check: ({ dir }) => {
      const html = Deno.readTextFileSync(`${dir}/r.html`);
      assertEquals(html.split("<!DOCTYPE html>").length, 2);
      const data = /<script type="application\/json" id="data">(.*?)<\/script>/s
        .exec(html)![1];
      assertTrue(
        JSON.stringify(JSON.parse(data)).includes("main.make$&Pay$'lo$`ad$$"),
      );
    },
  },
  {
    name: "a FIFO output is written through, and stays a FIFO",
    needs: () => hasTool("mkfifo"),
    setup: ({ dir }) => {
      const r = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] })
        .outputSync();
      assertTrue(r.success);
    },
    shell:
      `(cat fifo > got.txt &) ; $AT analyze "${LEAK}" --folded fifo --json`,
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    changes: ["got.txt"],
    check: ({ dir }) => {
      // The reader may still be copying: wait for its file to fill.
      for (let i = 0; i < 100; i++) {
        if (Deno.readTextFileSync(`${dir}/got.txt`).endsWith("\n")) break;
        new Deno.Command("sleep", { args: ["0.05"] }).outputSync();
      }
      assertTrue(
        Deno.readTextFileSync(`${dir}/got.txt`).includes("main.makePayload"),
      );
      assertTrue(Deno.lstatSync(`${dir}/fifo`).isFifo);
    },
  },
  {
    name: "--folded /dev/stdout goes into the pipe, without the summary",
    shell: `$AT analyze "${LEAK}" --folded /dev/stdout | cat`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      assertTrue(stdout.includes("main.makePayload"), stdout);
      assertTrue(!stdout.includes("top sites"), stdout);
    },
  },
  // Found as a new user: --json with an output on stdout printed the output
  // and left the JSON out without a word.
  ...[
    ["analyze", LEAK, "--folded", "-"],
    ["analyze", LEAK, "--pprof", "/dev/stdout"],
    ["run", "leak", "--memprofile-text", "-"],
    ["replay", LEAK, "--folded", "/dev/stdout"],
    ["diff", LEAK, BT, "--html", "-"],
  ].map((args): Row => ({
    name: `${args[0]} --json ${args.at(-2)} ${
      args.at(-1)
    }: a usage error, both would write stdout`,
    args: [...args, "--json"],
    code: 2,
    stderr: new RegExp(
      `^alloctrace: --json and ${args.at(-2)} ${
        args.at(-1)!.replaceAll("/", "\\/")
      } both write stdout: give ${args.at(-2)} a file$`,
    ),
  })),
  {
    name: "--folded - goes to stdout",
    args: ["analyze", LEAK, "--folded", "-"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertTrue(
        /^[^\n]*main\.makePayload \S+:\d+ [0-9]+$/m.test(stdout),
        stdout,
      ),
  },
  {
    name:
      "run --trace-out on a full disk: the old trace stays, the error names the file, no temporary is left",
    needs: tmpfsOk,
    setup: ({ dir }) => {
      mountFull(`${dir}/full`);
      Deno.writeTextFileSync(`${dir}/full/t.trace`, "old trace\n");
    },
    args: [
      "run",
      "leak",
      "--n",
      "1000",
      "--godebug",
      "allocfreetrace=1",
      "--trace-out",
      "full/t.trace",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write full\/t\.trace: No space left on device/,
  },
  {
    name:
      "analyze with one output on a full disk: that one fails, the others and the JSON are written",
    needs: tmpfsOk,
    setup: ({ dir }) => {
      mountFull(`${dir}/full`);
      // Leave a few KiB free: the check passes, the write fails.
      Deno.writeFileSync(`${dir}/full/filler`, new Uint8Array(60 << 10));
    },
    args: [
      "analyze",
      LEAK,
      "--html",
      "full/r.html",
      "--folded",
      "f.txt",
      "--json",
    ],
    code: 1,
    stderr: /^alloctrace: cannot write full\/r\.html: No space left on device/,
    counts: LEAK_COUNTS,
    changes: ["f.txt"],
  },
  // Found trying it as a new user: run binarytrees --depth 16 --trace-out
  // wrote 41 GB (~1.2 kB a record) without a word. Past --trace-max
  // (default 2 GB) the run stops: the temporary goes, the old file stays.
  {
    name:
      "run --trace-out past --trace-max: one line, the old trace whole, no temporary",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    args: [
      "run",
      "binarytrees",
      "--depth",
      "16",
      "--trace-out",
      "t.trace",
      "--trace-max",
      "1000000",
    ],
    code: 1,
    stderr:
      /^alloctrace: --trace-out t\.trace: the trace would pass --trace-max, 1000000 bytes, after [\d,]+ records: stopped, nothing written \(--trace-max BYTES sets another, 0 none\)$/,
  },
  {
    name:
      "a script workload past --trace-max: the same one line (not wrapped as the script's failure), nothing written",
    setup: ({ dir }) =>
      Deno.writeTextFileSync(
        `${dir}/w.ts`,
        `export default function (rt) {
  const t = rt.types.define("main.T", { size: 64, pointers: [0] });
  rt.call("main.main", "main.go", 10, () => { for (let i = 0; i < 100000; i++) rt.newobject(t); });
}
`,
      ),
    args: ["run", "./w.ts", "--trace-out", "t.trace", "--trace-max", "100000"],
    code: 1,
    stderr:
      /^alloctrace: --trace-out t\.trace: the trace would pass --trace-max, 100000 bytes, after [\d,]+ records: stopped, nothing written \(--trace-max BYTES sets another, 0 none\)$/,
  },
  {
    name: "run --trace-out within --trace-max: written whole",
    args: [
      "run",
      "leak",
      "--n",
      "100",
      "--trace-out",
      "t.trace",
      "--trace-max",
      "10000000",
      "-q",
    ],
    code: 0,
    stderr: "",
    changes: ["t.trace"],
    check: ({ dir }) =>
      assertTrue(Deno.statSync(`${dir}/t.trace`).size > 100_000),
  },
  {
    name:
      "SIGTERM during run --trace-out leaves the old trace whole and no temporary",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      `$AT run binarytrees --depth 16 --godebug allocfreetrace=1 --trace-out t.trace --trace-max 0 -q & pid=$!; sleep 3; kill -TERM $pid; wait $pid`,
    code: 143,
    stderr: "",
  },
  {
    name:
      "SIGINT (Ctrl-C) during run --trace-out: the old trace stays, no temporary, exit 130",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      // env gives the background job SIGINT's default action back (a
      // non-interactive shell starts it ignored), as Ctrl-C finds it.
      `env --default-signal=INT $AT run binarytrees --depth 16 --godebug allocfreetrace=1 --trace-out t.trace --trace-max 0 -q & pid=$!; sleep 3; kill -INT $pid; wait $pid`,
    code: 130,
    stderr: "",
  },
  {
    name:
      "SIGINT while analyze waits on stdin: no output file, the old one stays",
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/p.pb.gz`, "old\n"),
    shell:
      // env gives the background job SIGINT's default action back (a
      // non-interactive shell starts it ignored), as Ctrl-C finds it.
      `sleep 4 2>/dev/null | env --default-signal=INT $AT analyze - --pprof p.pb.gz & pid=$!; sleep 2; kill -INT $pid; wait $pid`,
    code: 130,
    stderr: "",
  },
  // native: the program is killed, what it did is reported and its trace
  // written, and the exit code is the signal's (the program has started,
  // and so the tracer's listeners are on, once it has made 'started').
  ...([["HUP", 129], ["TERM", 143], ["INT", 130]] as const).map((
    [sig, code],
  ): Row => ({
    name:
      `SIG${sig} during native --trace-out: the program is killed, its trace written, no temporary, exit ${code}`,
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/t.trace`, "old\n"),
    shell:
      `${
        sig === "INT" ? "env --default-signal=INT " : ""
      }$AT native -q --trace-out t.trace -- sh -c 'touch started; sleep 20' & pid=$!; ` +
      `for i in $(seq 600); do [ -e started ] && break; sleep 0.1; done; kill -${sig} $pid; wait $pid`,
    code,
    stderr: "",
    changes: ["t.trace", "started"],
    // The shell's child (touch) has its own trace beside it.
    leftover: /^t\.trace\.\d+$/,
    check: ({ dir }) =>
      assertTrue(
        Deno.readTextFileSync(`${dir}/t.trace`).startsWith("MProf_Malloc("),
        "the trace of what it did",
      ),
  })),
  // review1 #6: a forking program's native --trace-out mixed the processes
  // (no pid in the seed format): each child's trace is its own file,
  // t.trace.PID, named by alloctrace, so it must never replace a file.
  {
    name:
      "native --trace-out of a program that forks: the child's t.trace.PID, taken by the child itself, is kept; its trace goes to t.trace.PID.1; other t.trace.* untouched",
    needs: () => hasTool("cc"),
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/t.trace`, "old\n");
      Deno.writeTextFileSync(`${dir}/t.trace.1`, "one\n");
      Deno.writeTextFileSync(`${dir}/t.trace.x`, "x\n");
      Deno.writeTextFileSync(`${dir}/fork.c`, FORK_TAKES_ITS_NAME);
    },
    shell: `cc -o fork fork.c || exit 99
$AT native -q --trace-out t.trace -- ./fork`,
    code: 0,
    stderr: "",
    changes: ["t.trace", "fork"],
    leftover: /^t\.trace\.\d+(\.1)?$/,
    check: ({ dir }) => {
      const names = [...Deno.readDirSync(dir)].map((e) => e.name);
      const own = names.filter((n) =>
        /^t\.trace\.\d+$/.test(n) && n !== "t.trace.1"
      );
      assertEquals(own.length, 1, names.join(" "));
      assertEquals(
        Deno.readTextFileSync(`${dir}/${own[0]}`),
        "the child's own\n",
      );
      for (const f of ["t.trace", `${own[0]}.1`]) {
        assertTrue(
          Deno.readTextFileSync(`${dir}/${f}`).startsWith("MProf_Malloc("),
          `${f} is a trace`,
        );
      }
    },
  },
  {
    name:
      "native --trace-out whose FILE becomes a directory during the run: one line, exit 1, and no temporary of FILE or of a child's trace left (review1 #4)",
    needs: () => hasTool("cc"),
    setup: ({ dir }) =>
      Deno.writeTextFileSync(`${dir}/mkd.c`, FILE_BECOMES_DIR),
    shell: `cc -o mkd mkd.c || exit 99
$AT native -q --trace-out t.trace -- ./mkd`,
    code: 1,
    stderr: /^alloctrace: cannot write t\.trace: Is a directory/,
    changes: ["t.trace", "mkd"],
  },
  {
    name:
      "native --trace-out of a program with more children than open files allowed (ulimit -n 128, 200 children): every child's trace is written (review1 #3: one descriptor per child for the whole run, and the run failed at the limit)",
    needs: () => hasTool("cc"),
    setup: ({ dir }) => Deno.writeTextFileSync(`${dir}/many.c`, MANY_CHILDREN),
    shell: `cc -o many many.c || exit 99
ulimit -n 128; $AT native -q --trace-out t.trace -- ./many 200`,
    code: 0,
    stderr: "",
    changes: ["t.trace", "many"],
    leftover: /^t\.trace\.\d+$/,
    check: ({ dir }) => {
      const files = [...Deno.readDirSync(dir)].filter((e) =>
        /^t\.trace\.\d+$/.test(e.name)
      );
      assertEquals(files.length, 200);
      for (const f of files) {
        assertEquals(
          Deno.readTextFileSync(`${dir}/${f.name}`).match(/^MProf_Malloc\(/gm)
            ?.length,
          1,
          f.name,
        );
      }
    },
  },
  {
    name:
      "as nobody: native --trace-out through a symlink in a directory it cannot write: the children's directory (the link's) is checked before the run, as every output's is (review1 #7: the run failed at the first child, its trace and report lost)",
    needs: () => nobodyOk() ?? hasTool("cc"),
    nobody: true,
    setup: ({ dir }) => {
      Deno.writeTextFileSync(`${dir}/many.c`, MANY_CHILDREN);
      Deno.mkdirSync(`${dir}/ro`);
      Deno.chmodSync(`${dir}/ro`, 0o755);
      Deno.mkdirSync(`${dir}/w`);
      Deno.chownSync(`${dir}/w`, NOBODY, NOBODY);
      Deno.writeTextFileSync(`${dir}/w/real`, "before\n");
      Deno.chownSync(`${dir}/w/real`, NOBODY, NOBODY);
      Deno.symlinkSync("../w/real", `${dir}/ro/t.trace`);
    },
    shell: `cc -o many many.c || exit 99
$AT native -q --trace-out ro/t.trace -- ./many 2`,
    code: 2,
    stderr:
      /^alloctrace: --trace-out ro\/t\.trace: cannot create a file in ro \(each child's trace goes beside the name given, FILE\.PID\): Permission denied/,
    changes: ["many"],
  },
  {
    name:
      "native --trace-out /dev/null of a program that forks, not quiet: the warning says the child's trace was not written (review1 #10: asserted nowhere)",
    needs: () => hasTool("cc"),
    setup: ({ dir }) =>
      Deno.writeTextFileSync(`${dir}/fork.c`, FORK_TAKES_ITS_NAME),
    shell: `cc -o fork fork.c || exit 99
$AT native --trace-out /dev/null -- ./fork 2> err.txt
grep -- --trace-out err.txt >&2`,
    code: 0,
    stderr:
      /^alloctrace: warning: --trace-out \/dev\/null is not a regular file: the trace of 1 child process \(\d+\) was not written \(a regular file takes each beside it, FILE\.PID\)$/,
    changes: ["fork", "err.txt"],
    leftover: /^t\.trace\.\d+$/,
  },
  {
    name:
      "native --trace-out /dev/null of a program that forks: no file is made beside it (/dev/null.PID) for the child",
    needs: () => hasTool("cc"),
    setup: ({ dir }) =>
      Deno.writeTextFileSync(`${dir}/fork.c`, FORK_TAKES_ITS_NAME),
    shell: `cc -o fork fork.c || exit 99
$AT native -q --trace-out /dev/null -- ./fork`,
    code: 0,
    stderr: "",
    changes: ["fork"],
    leftover: /^t\.trace\.\d+$/,
    check: () =>
      assertEquals(
        [...Deno.readDirSync("/dev")].filter((e) => e.name.startsWith("null."))
          .map((e) => e.name),
        [],
      ),
  },
  {
    name:
      "SIGTERM during native: the program's children are killed too (a shell's job ran on, traced, and native waited for it)",
    shell:
      `$AT native -q -- sh -c 'sleep 1000 & echo $! > child; wait' & pid=$!; ` +
      `for i in $(seq 600); do [ -s child ] && break; sleep 0.1; done; kill -TERM $pid; c=$(cat child); ` +
      `for i in $(seq 300); do kill -0 $c 2>/dev/null || break; sleep 0.1; done; ` +
      `kill -0 $c 2>/dev/null && { kill -9 $c; echo "child $c survived" >&2; }; wait $pid`,
    code: 143,
    stderr: "",
    changes: ["child"],
  },
  {
    name:
      "SIGINT started ignored (trap '' INT, a background job) stays ignored: analyze - reads stdin to its end",
    shell:
      `{ sleep 3; cat "${LEAK}"; } | (trap '' INT; exec $AT analyze - --json) & pid=$!; sleep 1.5; kill -INT $pid; wait $pid`,
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
  },
  {
    name:
      "native with SIGINT started ignored: a SIGINT neither kills the traced program nor ends the trace",
    shell:
      `(trap '' INT; exec $AT native -q -- sleep 2) & pid=$!; sleep 1.2; kill -INT $pid; wait $pid`,
    code: 0,
    stderr: "",
  },
  {
    name: "run with the trace on stderr into a closed pipe exits quietly",
    shell:
      `$AT run leak --n 2000 --godebug allocfreetrace=1 2>&1 >/dev/null | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },
  {
    name: "run --trace-out /dev/stdout into a closed pipe exits quietly",
    shell:
      `$AT run leak --n 2000 --godebug allocfreetrace=1 --trace-out /dev/stdout | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },
  {
    name: "analyze into a closed pipe exits quietly",
    shell:
      `$AT analyze "${BT}" --stacks --top 1000 | head -1 >/dev/null; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  },
  // Every other command's stdout into a pipe closed before it writes
  // (`| true`: the reader is gone long before Deno has started).
  ...[
    "workloads",
    "workloads --json",
    "run leak --n 300 --json",
    "run --help",
    `analyze "${LEAK}" --json`,
    `analyze "${LEAK}" --folded -`,
    `analyze "${ROOT}tests/testdata/go1.23/leak.trace.gz"`,
    `replay "${LEAK}"`,
    `replay "${LEAK}" --folded -`,
    `diff "${LEAK}" "${BT}"`,
    `diff "${LEAK}" "${BT}" --json`,
  ].map((cmd): Row => ({
    name: `${
      cmd.replaceAll(SHARED, "").replaceAll('"', "")
    } into a closed pipe exits quietly`,
    shell: `$AT ${cmd} | true; exit \${PIPESTATUS[0]}`,
    code: 0,
    stderr: "",
  })),
];

badInputSuite(ROWS);
