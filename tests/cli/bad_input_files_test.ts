/**
 * The bad-input suite's special files and names: names with control
 * characters (in files' names and in the trace's function names), devices,
 * /proc files, sockets, unreadable files, a directory on stdin, endless
 * inputs, a program run from memory. The assertions each row gets are in
 * `_bad_input.ts`.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { ROOT } from "../_run.ts";
import {
  badInputSuite,
  copy,
  dec,
  hasTool,
  LEAK,
  LEAK_COUNTS,
  leakLines,
  nobodyOk,
  type Row,
  rssBelow,
} from "./_bad_input.ts";

/**
 * A function name with escape sequences (a title, a bell, a clear screen,
 * and a clear screen again through U+009B, the one-character CSI).
 */
const ESC_NAME = "main.make\x1b]0;owned\x07\x1b[2J\u009b2JPayload";

/** The leak trace with main.makePayload named ESC_NAME, as esc.trace. */
const escTrace = ({ dir }: { dir: string }) =>
  Deno.writeFileSync(
    `${dir}/esc.trace`,
    leakLines((lines) =>
      lines.map((l) => l.replaceAll("main.makePayload", ESC_NAME))
    ),
  );

/** A workload script allocating 10 objects of main.T at main.go:10. */
const SCRIPT10 = `export default function (rt) {
  const t = rt.types.define("main.T", { size: 64, pointers: [0] });
  rt.call("main.main", "main.go", 10, () => { for (let i = 0; i < 10; i++) rt.newobject(t); });
}
`;

/** A C program leaking 1000 blocks, and one running it from a memfd. */
function memfdSetup({ dir }: { dir: string }): void {
  Deno.writeTextFileSync(
    `${dir}/leak.c`,
    `#include <stdlib.h>
void *volatile keep[1000];
void *mk(int n) { return malloc(n); }
int main(void) { for (int i = 0; i < 1000; i++) keep[i] = mk(100 + i % 7); return 0; }
`,
  );
  Deno.writeTextFileSync(
    `${dir}/memfd.c`,
    `#define _GNU_SOURCE
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv, char **envp) {
  int in = open(argv[1], O_RDONLY), fd = memfd_create("img", MFD_CLOEXEC);
  char buf[65536]; ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) write(fd, buf, n);
  char *args[] = { "img", 0 };
  fexecve(fd, args, envp);
  return 1;
}
`,
  );
}

const ROWS: Row[] = [
  // --- names with control characters: one line, shown escaped -----------
  // Found trying it as a new user: a newline in a name cut the error line
  // there ("alloctrace: no", the reason lost) and made a warning two
  // lines; an escape sequence in a name acted on the terminal.
  {
    name:
      "a missing input whose name holds a newline: one line, the name escaped",
    args: ["analyze", "no\nsuch.trace"],
    code: 1,
    stderr: /^alloctrace: "no\\nsuch\.trace": no such file$/,
  },
  {
    name:
      "a cut trace whose name holds a newline: one warning line, the name escaped, nothing lost",
    setup: ({ dir }) => {
      const b = Deno.readFileSync(LEAK);
      Deno.writeFileSync(
        `${dir}/cut\nname.trace`,
        b.subarray(0, b.length - 40),
      );
    },
    args: ["analyze", "cut\nname.trace", "--json"],
    code: 0,
    stderr:
      /^alloctrace: warning: "cut\\nname\.trace": the last record \(line \d+: .*\) is cut off; everything before it was analysed$/,
    // Every record but the cut one (the last, an allocation).
    counts: { ...LEAK_COUNTS, allocs: LEAK_COUNTS.allocs - 1 },
  },
  // Found trying it as a new user: a function name read from a trace went
  // to the terminal as it was, so an escape sequence in it (a hostile or
  // corrupt trace) acted on the terminal: it is shown escaped, as names of
  // files are; --json keeps the name itself.
  ...([
    ["analyze", ["analyze", "esc.trace"]],
    ["analyze --by stack", ["analyze", "esc.trace", "--by", "stack"]],
    ["replay", ["replay", "esc.trace", "--memprofilerate", "1"]],
    ["diff", ["diff", LEAK, "esc.trace"]],
  ] as const).map(([what, args]): Row => ({
    name:
      `${what} of a trace with an escape sequence in a function name: the text shows it escaped`,
    setup: escTrace,
    args: [...args],
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      // deno-lint-ignore no-control-regex
      assertEquals(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.exec(stdout), null);
      assertTrue(
        stdout.includes(
          "main.make\\u001b]0;owned\\u0007\\u001b[2J\\u009b2JPayload",
        ),
        stdout,
      );
    },
  })),
  {
    name: "analyze --json of that trace keeps the name itself",
    setup: escTrace,
    args: ["analyze", "esc.trace", "--json"],
    code: 0,
    stderr: "",
    counts: LEAK_COUNTS,
    check: (_, { stdout }) =>
      assertTrue(
        JSON.parse(stdout).sites.some((s: { func: string }) =>
          s.func === ESC_NAME
        ),
      ),
  },
  // Found trying it as a new user: the "wrote FILE" lines printed an
  // output's name as it was: a newline split the line, an escape sequence
  // acted on the terminal.
  ...([
    ["analyze", ["analyze", LEAK, "--html", "h\x1b[2J.html"], "--html"],
    ["run", ["run", "leak", "--n", "10", "--html", "h\x1b[2J.html"], "--html"],
    [
      "run --trace-out",
      ["run", "leak", "--n", "10", "--trace-out", "h\x1b[2J.html"],
      "allocfreetrace",
    ],
    ["replay", ["replay", LEAK, "--html", "h\x1b[2J.html"], "--html"],
    [
      "analyze of an execution trace",
      [
        "analyze",
        `${ROOT}tests/testdata/go1.23/leak.trace.gz`,
        "--html",
        "h\x1b[2J.html",
      ],
      "--html",
    ],
  ] as const).map(([what, args, note]): Row => ({
    name:
      `${what}: an output whose name holds an escape sequence is shown escaped in its "wrote" line`,
    args: [...args, "-q"],
    code: 0,
    stderr: "",
    changes: ["h\x1b[2J.html"],
    check: (_, { stdout }) =>
      assertTrue(
        stdout.split("\n").some((l) =>
          l.startsWith(`wrote "h\\u001b[2J.html" (${note}`)
        ) && !stdout.includes("\x1b"),
        stdout.slice(-600),
      ),
  })),
  // Found trying it as a new user: a script's or a program's name went to
  // the terminal as it was, in run's summary and native's report.
  {
    name:
      "run of a script whose name holds an escape sequence: the summary shows it escaped",
    setup: ({ dir }) =>
      Deno.writeTextFileSync(
        `${dir}/s\x1b[2J.ts`,
        `export default function (rt) {
  const t = rt.types.define("main.T", { size: 64, pointers: [0] });
  rt.call("main.main", "main.go", 10, () => { for (let i = 0; i < 10; i++) rt.newobject(t); });
}
`,
      ),
    args: ["run", "./s\x1b[2J.ts"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) => {
      assertTrue(!stdout.includes("\x1b[2J"), stdout);
      assertTrue(stdout.startsWith('workload      "./s\\u001b[2J.ts"'), stdout);
    },
  },
  // Found emulating CI from a checkout under an odd path: the script's path
  // went into a file:// URL as text, so a '#' or '?' (in its name or in the
  // working directory's) cut the URL there, and '%41' was read as 'A': it
  // loaded another file. Each script here allocates 10 objects at main.go:10.
  ...[
    ["a script in a directory named 'a #1'", "a #1", "./a #1/w.ts"],
    ["a script in a directory named 'a?b'", "a?b", "./a?b/w.ts"],
    [
      "a script in a directory named 'p%41' (a 'pA' beside it)",
      "p%41",
      "./p%41/w.ts",
    ],
    [
      "a script by its absolute path under 'q #%41'",
      "q #%41",
      "ABS/q #%41/w.ts",
    ],
  ].map(([what, sub, arg]): Row => ({
    name: `run of ${what}: the script itself runs`,
    setup: ({ dir }) => {
      Deno.mkdirSync(`${dir}/${sub}`);
      Deno.writeTextFileSync(`${dir}/${sub}/w.ts`, SCRIPT10);
      Deno.mkdirSync(`${dir}/pA`);
      Deno.writeTextFileSync(`${dir}/pA/w.ts`, 'throw new Error("pA/w.ts");\n');
    },
    shell: `$AT run "${arg.replace("ABS", "$PWD")}" --json`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).memstats.Mallocs, 10),
  })),
  {
    name:
      "run of a script from a working directory named 'w #1': the script itself runs",
    setup: ({ dir }) => {
      Deno.mkdirSync(`${dir}/w #1`);
      Deno.writeTextFileSync(`${dir}/w #1/w.ts`, SCRIPT10);
    },
    shell: `cd "w #1" && $AT run ./w.ts --json`,
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).memstats.Mallocs, 10),
  },
  {
    name:
      "native of a program whose name holds an escape sequence: the report and the warning show it escaped",
    setup: ({ dir }) => Deno.copyFileSync("/bin/true", `${dir}/t\x1b[2J`),
    // (The report goes to stderr; /bin/true makes no malloc call: a
    // warning, which names it, comes first.)
    shell: "$AT native -- $'./t\\x1b[2J' 2> err.txt",
    code: 0,
    stderr: "",
    changes: ["err.txt"],
    check: ({ dir }) => {
      const err = Deno.readTextFileSync(`${dir}/err.txt`);
      assertTrue(!err.includes("\x1b[2J"), err);
      assertTrue(
        err.includes('program       "./t\\u001b[2J": exit code 0'),
        err,
      );
      assertTrue(err.includes('t\\u001b[2J" is dynamically linked'), err);
    },
  },
  // Found trying it as a new user: `--json`'s `file` held the name quoted
  // for messages ("\"a\\nb\""), not the name: JSON escapes it already.
  ...([
    ["analyze", LEAK],
    ["replay", LEAK],
    ["analyze", `${ROOT}tests/testdata/go1.23/leak.trace.gz`],
  ] as const).map(([cmd, from]): Row => ({
    name: `${cmd} --json of ${
      from.endsWith(".gz") ? "an execution trace" : "a trace"
    } whose name holds a newline: "file" is the name itself`,
    setup: ({ dir }) => copy(from, `${dir}/a\nb.trace`),
    args: [cmd, "a\nb.trace", "--json", "-q"],
    code: 0,
    stderr: "",
    check: (_, { stdout }) =>
      assertEquals(JSON.parse(stdout).file, "a\nb.trace"),
  })),
  // (U+009B alone is a CSI: C1 is escaped as C0 is.)
  ...([
    [
      "an escape sequence",
      "x\x1b[2Jy",
      /^alloctrace: --html "x\\u001b\[2Jy\/out\.html": directory "x\\u001b\[2Jy" does not exist/,
    ],
    [
      "U+009B (a one-character CSI)",
      "x\u009b2Jy",
      /^alloctrace: --html "x\\u009b2Jy\/out\.html": directory "x\\u009b2Jy" does not exist/,
    ],
  ] as const).map(([what, dir, stderr]): Row => ({
    name:
      `an output in a missing directory whose name holds ${what}: one line, the escape shown, not sent`,
    args: ["analyze", LEAK, "--html", `${dir}/out.html`],
    code: 2,
    stderr,
  })),
  // --- devices, /proc, sockets, stdin, programs run from memory ---------
  {
    name: "analyze /dev/zero: stops at once, bounded memory",
    needs: () => hasTool("/usr/bin/time"),
    shell: "/usr/bin/time -o rss -f %M $AT analyze /dev/zero",
    code: 1,
    stderr:
      /^alloctrace: \/dev\/zero: not an allocfreetrace log: no record in the first \d+ MiB, and line 1 is longer than 1 MiB$/,
    changes: ["rss"],
    check: ({ dir }) => rssBelow(dir, 256),
  },
  // Found trying it as a new user: random bytes hold newlines often enough
  // that no line is past the cap, so the read never stopped.
  ...["analyze", "replay"].map((cmd): Row => ({
    name: `${cmd} /dev/urandom: endless binary data with short lines stops`,
    args: [cmd, "/dev/urandom"],
    code: 1,
    stderr:
      /^alloctrace: \/dev\/urandom: not an allocfreetrace log: no record in the first \d+ MiB, and byte [\d,]+ is a NUL \(binary data\)$/,
  })),
  // /dev/urandom stopped only once a read ended at a newline (1 chance in
  // 256 a read): some runs read gigabytes. Here no read ends at one.
  {
    name:
      "binary data whose reads never end at a newline stops after 64 MiB, not at its end",
    setup: ({ dir }) => {
      const bin = new Uint8Array(72 << 20);
      for (let i = 0; i < bin.length; i += 4) bin.set([10, 97, 98, 0], i);
      Deno.writeFileSync(`${dir}/bin`, bin);
    },
    // (A pipe: the reader stops before cat is done.)
    shell: "cat bin | $AT analyze -",
    code: 1,
    stderr:
      /^alloctrace: stdin: not an allocfreetrace log: no record in the first 64 MiB, and byte 3 is a NUL \(binary data\)$/,
  },
  // Found trying it as a new user: /proc files say their size is 0.
  {
    name: "a /proc file (its size says 0): read, not called empty",
    args: ["analyze", "/proc/self/status"],
    code: 1,
    stderr:
      /^alloctrace: \/proc\/self\/status: not an allocfreetrace log: no tracealloc, tracefree, tracegc, MProf_Malloc or MProf_Free record in \d+ line\(s\)$/,
  },
  // Found trying it as a new user: a file that stats but does not open or
  // read gave the OS's reason alone ("alloctrace: Input/output error (os
  // error 5)"), naming nothing.
  {
    name:
      "analyze /proc/self/mem (it opens, its first read fails): the line names it",
    args: ["analyze", "/proc/self/mem"],
    code: 1,
    stderr:
      /^alloctrace: \/proc\/self\/mem: Input\/output error \(os error 5\)$/,
  },
  {
    name: "as nobody: an input it may not read: the line names it",
    needs: nobodyOk,
    nobody: true,
    setup: ({ dir }) => {
      copy(LEAK, `${dir}/t.trace`);
      Deno.chmodSync(`${dir}/t.trace`, 0o600);
    },
    shell: "$AT analyze t.trace",
    code: 1,
    stderr: /^alloctrace: t\.trace: Permission denied \(os error 13\)$/,
  },
  {
    name:
      "analyze of a unix socket (it stats, does not open): the line names it",
    needs: () => hasTool("python3"),
    setup: ({ dir }) => {
      // (Deno's listener removes its socket file when closed.)
      const r = new Deno.Command("python3", {
        args: [
          "-c",
          "import socket; socket.socket(socket.AF_UNIX).bind('sock')",
        ],
        cwd: dir,
      }).outputSync();
      assertTrue(r.success, dec.decode(r.stderr));
    },
    args: ["analyze", "sock"],
    code: 1,
    stderr: /^alloctrace: sock: No such device or address \(os error 6\)$/,
  },
  // Found as a new user: a file name that is not UTF-8 reaches Deno with
  // U+FFFD in place of its bytes. As an input it was "no such file", of a
  // file that is there; as an output another file was written (out\uFFFD).
  // (The file is made outside the case's directory: Deno cannot list it.)
  {
    name:
      "an input whose name is not UTF-8: the line says why it cannot be opened",
    shell: `d=$(mktemp -d) && cp '${LEAK}' "$d"/bad$'\\xff'.trace && ` +
      `$AT analyze "$d"/bad$'\\xff'.trace; c=$?; rm -r "$d"; exit $c`,
    code: 1,
    stderr:
      /^alloctrace: \S+\/bad\uFFFD\.trace: no such file \(a name that is not UTF-8 reaches Deno with U\+FFFD in place of its bytes: rename the file, or give it on stdin as -\)$/,
  },
  {
    name:
      "an output whose name is not UTF-8: refused, no other file written in its place",
    shell: `$AT analyze '${LEAK}' --html out$'\\xff'.html`,
    code: 2,
    stderr:
      /^alloctrace: --html out\uFFFD\.html: the name holds U\+FFFD, which a name that is not UTF-8 becomes on its way to Deno: another file would be written; give a UTF-8 name$/,
  },
  // Found trying it as a new user: "alloctrace: Is a directory (os error
  // 21)", naming nothing.
  ...["analyze", "replay", "diff"].map((cmd): Row => ({
    name: `${cmd} - with a directory on stdin: the line names stdin`,
    shell: `$AT ${cmd} -${cmd === "diff" ? ` '${LEAK}'` : ""} < .`,
    code: 1,
    stderr: /^alloctrace: stdin: Is a directory \(os error 21\)$/,
  })),
  // Found trying it as a new user: a program run from memory (fexecve of a
  // memfd, as some packers and sandboxes do) maps "/memfd:img (deleted)",
  // which nobody can open: its frames were "memfd:img (deleted)+0x1151",
  // one deep. A copy read while it runs stands in, then goes.
  {
    name:
      "native of a program run from a memfd (fexecve): symbolized and unwound, frames name the image, not its copy",
    needs: () => hasTool("cc"),
    setup: memfdSetup,
    shell:
      `cc -g -O0 -fno-omit-frame-pointer -o leak leak.c && cc -o memfd memfd.c || exit 99
$AT native -q --json j.json -- ./memfd ./leak`,
    code: 0,
    stderr: "",
    changes: ["leak", "memfd", "j.json"],
    check: ({ dir }) => {
      const d = JSON.parse(Deno.readTextFileSync(`${dir}/j.json`));
      assertEquals(d.allocs, 1000);
      const stack = d.sites[0].stack as {
        func: string;
        file: string;
        line: number;
      }[];
      assertEquals(
        stack.slice(0, 2).map((f) => `${f.func}:${f.line}`),
        ["mk:3", "main:4"],
      );
      // The copy only stood in for reading: frames name the image as the
      // maps show it, not the temporary copy (which differed every run and
      // was gone after it).
      for (const f of stack) {
        assertEquals(f.file.includes("alloctrace-images-"), false, f.file);
      }
      assertEquals(
        stack.some((f) => f.file === "/memfd:img (deleted)"),
        true,
        JSON.stringify(stack),
      );
    },
  },
  {
    name: "analyze - < /dev/zero: endless stdin without a newline stops",
    needs: () => hasTool("/usr/bin/time"),
    shell: "/usr/bin/time -o rss -f %M $AT analyze - < /dev/zero",
    code: 1,
    stderr: /^alloctrace: stdin: not an allocfreetrace log: no record in the/,
    changes: ["rss"],
    check: ({ dir }) => rssBelow(dir, 256),
  },
];

badInputSuite(ROWS);
