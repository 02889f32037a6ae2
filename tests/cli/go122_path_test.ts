/**
 * The README's path from a Go module to an analysed trace with Go 1.22
 * (the last release that prints allocfreetrace), run as the README shows
 * it with Debian's Go 1.22 toolchain: build with Go 1.22, run the binary
 * with GODEBUG=allocfreetrace=1 (not `go run`, whose go command and
 * compiler are Go 1.22 programs that trace themselves too), analyze.
 */
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { alloctrace, run, withTempDir } from "../_run.ts";

const GO122 = "/usr/lib/go-1.22/bin/go";
const HAVE_GO122 = await Deno.stat(GO122).then(() => true, () => false);
if (!HAVE_GO122) {
  console.log(`skipping the Go 1.22 path test: no ${GO122} (golang-1.22-go)`);
}

const MAIN_GO = `package main

import "fmt"

// T holds a pointer and is 520 bytes: Go 1.22 gives it an allocation header.
type T struct {
	p *int
	b [512]byte
}

var sink []*T

func main() {
	for i := 0; i < 3; i++ {
		sink = append(sink, new(T))
	}
	fmt.Println(len(sink))
}
`;

Deno.test({
  name:
    "README path: a go 1.22 module built with Go 1.22 and run with GODEBUG=allocfreetrace=1 is analysed as go1.22",
  ignore: !HAVE_GO122,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/go.mod`,
        "module example.com/hello\n\ngo 1.22\n",
      );
      await Deno.writeTextFile(`${dir}/main.go`, MAIN_GO);
      // GOTOOLCHAIN=local: this toolchain, no download (the README's
      // GOTOOLCHAIN=go1.22.12 asks a newer go command to fetch this one).
      const env: Record<string, string> = {
        GOTOOLCHAIN: "local",
        GOFLAGS: "",
        GOPROXY: "off",
      };
      // The go command keeps its build cache under $HOME (or
      // $XDG_CACHE_HOME) and refuses to build with neither: a CI job may
      // run with HOME unset.
      if (
        !Deno.env.get("GOCACHE") && !Deno.env.get("HOME") &&
        !Deno.env.get("XDG_CACHE_HOME")
      ) {
        env.GOCACHE = `${dir}/gocache`;
      }
      const b = await run(GO122, ["build", "-o", "prog", "."], {
        cwd: dir,
        env,
      });
      assertEquals(b.code, 0, b.stderr);
      const p = await run(`${dir}/prog`, [], {
        cwd: dir,
        env: { GODEBUG: "allocfreetrace=1" },
      });
      assertEquals(p.stdout, "3\n");
      await Deno.writeTextFile(`${dir}/prog.trace`, p.stderr);
      const a = await alloctrace(
        ["analyze", `${dir}/prog.trace`, "--json"],
        ["--allow-env", "--allow-read"],
      );
      assertEquals(a.code, 0, a.stderr);
      assertEquals(a.stderr, "");
      const j = JSON.parse(a.stdout);
      assertEquals(j.warnings, []);
      assertEquals(j.go.version, "go1.22");
      // The three main.T: 520 B + 8 B header → class 576, printed 0x238,
      // 8 bytes into a 576-byte slot.
      const ts = [
        ...p.stderr.matchAll(
          /^tracealloc\((0x[0-9a-f]+), (0x[0-9a-f]+), main\.T\)$/gm,
        ),
      ];
      assertEquals(ts.length, 3);
      for (const m of ts) {
        assertEquals(m[2], "0x238");
        assertEquals(Number(m[1]) % 8192 % 576, 8, m[1]); // class 576: one-page spans
      }
      const site = j.sites.find((s: { func: string }) =>
        s.func === "main.main"
      );
      assertTrue(site !== undefined, a.stdout);
      assertIncludes(JSON.stringify(j.sizes), '"size":576');
    }),
});
