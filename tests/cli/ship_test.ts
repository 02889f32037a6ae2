/**
 * The ways alloctrace ships besides the executable: `deno run` from a URL
 * (the repository served over loopback HTTP), and the library imported
 * from a project outside the repository.
 */
import { pathToFileURL } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../_assert.ts";
import { ROOT, run, withTempDir } from "../_run.ts";
import { startupOf } from "../_testdata.ts";

/** leak -n N's live heap objects: its records and payloads, the last backing array, the growths array and the final concatstring3 string, and the runtime start-up's (goStartup). */
const leakObjects = (n: number) => 2 * n + 3 + startupOf("leak").liveObjects;

const ENV_FLAG = "--allow-env=GODEBUG,GOGC,ALLOCTRACE_DEBUG,NO_COLOR,TERM";

/**
 * Serves the repository on loopback while `fn` runs; `fn` gets the base URL.
 * The URL holds a random path segment as well as the port: the module cache
 * (DENO_DIR) is shared with every other checkout's test runs, and a port is
 * reused once freed, so a URL seen before could hold another checkout's code
 * (runs under load saw HeapObjects 292 where this checkout makes 298).
 */
async function serveRepo(fn: (base: string) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const token = `/${crypto.randomUUID()}/`;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (!path.startsWith(token) || path.includes("..")) {
        return new Response("no", { status: 403 });
      }
      try {
        const body = await Deno.readFile(
          `${ROOT}${path.slice(token.length)}`,
        );
        return new Response(body, {
          headers: { "content-type": "application/typescript" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}${token}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

Deno.test("deno run from a URL: the repository served on loopback runs with the minimal permissions", async () => {
  await serveRepo(async (base) => {
    const url = `${base}main.ts`;
    const host = new URL(base).host;
    const dir = await Deno.makeTempDir();
    const r = await run(Deno.execPath(), [
      "run",
      "--no-config",
      `--allow-import=${host}`,
      // Each server gets a new port, but another run may have cached other
      // code at the same URL in the shared DENO_DIR: fetch it afresh.
      `--reload=${base}`,
      ENV_FLAG,
      url,
      "run",
      "leak",
      "--n",
      "100",
      "--json",
    ], { cwd: dir });
    await Deno.remove(dir, { recursive: true });
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.workload, "leak");
    assertEquals(doc.memstats.HeapObjects, leakObjects(100));
  });
});

/** Runs the README's `deno install` line for `target` into `root`, then the installed command. */
async function installAndRun(
  root: string,
  target: string,
  extra: string[],
): Promise<void> {
  // As in the README (with --root so the test leaves ~/.deno alone).
  const inst = await run(Deno.execPath(), [
    "install",
    "--global",
    "--root",
    root,
    "--name",
    "alloctrace",
    ENV_FLAG,
    "--allow-sys=systemMemoryInfo",
    "--allow-read",
    "--allow-write",
    ...extra,
    target,
  ], { cwd: root });
  assertEquals(inst.code, 0, inst.stderr);
  // The shim runs `deno` from PATH.
  const deno = Deno.execPath();
  const r = await run(`${root}/bin/alloctrace`, [
    "run",
    "leak",
    "--n",
    "100",
    "--json",
  ], {
    cwd: root,
    env: { PATH: `${deno.slice(0, deno.lastIndexOf("/"))}:/usr/bin:/bin` },
  });
  assertEquals(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertEquals(doc.memstats.HeapObjects, leakObjects(100));
  // (The default heap limit knows the machine's memory, as the README says.)
  assertTrue(doc.heapLimit.memory > 0, JSON.stringify(doc.heapLimit));
  // As the README warns: without `deno` on PATH (a machine with only Node,
  // where `npx deno install` made the shim) the command cannot run.
  if (await onPath("deno", NO_DENO_PATH) === null) {
    const bare = await run(`${root}/bin/alloctrace`, ["workloads"], {
      cwd: root,
      env: { PATH: NO_DENO_PATH },
    });
    assertTrue(bare.code !== 0, bare.stdout);
    assertIncludes(bare.stderr, "deno: not found");
  }
}

/** A PATH with the system's commands (and Node's npx where it is) but no Deno of ours. */
const NO_DENO_PATH = "/usr/bin:/bin";

/** Where `cmd` is on `path` (null: nowhere). */
async function onPath(cmd: string, path: string): Promise<string | null> {
  for (const dir of path.split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${cmd}`)).isFile) return `${dir}/${cmd}`;
    } catch {
      // not in this directory
    }
  }
  return null;
}

Deno.test("the README's npx alias works on a machine with only Node: no deno on PATH", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const m =
    /^alias alloctrace="npx (--yes deno@[\d.]+ run [^"$]*)\$PWD\/main\.ts"$/m
      .exec(readme);
  assertTrue(
    m !== null,
    'the README has no alias alloctrace="npx … $PWD/main.ts"',
  );
  const npx = await onPath("npx", Deno.env.get("PATH") ?? "");
  if (npx === null) {
    console.log("skipped: no npx on PATH (Node is not installed)");
    return;
  }
  const path = `${npx.slice(0, npx.lastIndexOf("/"))}:${NO_DENO_PATH}`;
  await withTempDir(async (dir) => {
    // From another directory, as an alias is used: $PWD was the clone's.
    const r = await run(npx, [
      ...m[1].trim().split(/\s+/),
      `${ROOT}main.ts`,
      "run",
      "leak",
      "--n",
      "100",
      "--json",
    ], { cwd: dir, env: { PATH: path } });
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.memstats.HeapObjects, leakObjects(100));
    // (The default heap limit knows the machine's memory, as the README says.)
    assertTrue(doc.heapLimit.memory > 0, JSON.stringify(doc.heapLimit));
  }, "alloctrace-alias-");
});

Deno.test("the README's install line works from a clone", async () => {
  await withTempDir(async (root) => {
    await installAndRun(root, `${ROOT}main.ts`, []);
  }, "alloctrace-install-");
});

Deno.test("the README's install line works from a URL (the repository served on loopback)", async () => {
  await serveRepo(async (base) => {
    await withTempDir(async (root) => {
      await installAndRun(root, `${base}main.ts`, [
        `--allow-import=${new URL(base).host}`,
        // Not in the README: a stale copy of another run at this URL (same
        // port, shared DENO_DIR) must not be what is installed.
        `--reload=${base}`,
      ]);
    }, "alloctrace-install-url-");
  });
});

Deno.test("the library imported from a project outside the repository runs a workload", async () => {
  await withTempDir(async (dir) => {
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { Runtime, leak, heapProfileProto, readPprof } from "${mod}";
const rt = new Runtime({ memProfileRate: 1 });
leak(rt, { n: 50 });
const p = await readPprof(await heapProfileProto(rt));
console.log(JSON.stringify({ objects: rt.readMemStats().HeapObjects, samples: p.samples.length }));
`,
    );
    const r = await run(Deno.execPath(), [
      "run",
      "--no-config",
      `--allow-read=${ROOT}`,
      `${dir}/main.ts`,
    ], { cwd: dir });
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assertEquals(out.objects, leakObjects(50));
    assertTrue(out.samples >= 4, r.stdout);
  }, "alloctrace-lib-");
});

Deno.test("importing mod.ts touches no Deno API: it loads under deno run with no permissions and no prompt", async () => {
  const r = await importModWithoutPermissions();
  assertEquals(r.code, 0, r.stderr);
  assertIncludes(r.stdout, "function");
});

/**
 * `deno run --no-prompt` with no permission flags: a module that calls
 * Deno.env.get or reads a file at load time throws NotCapable here (deno
 * eval would run with every permission and hide it).
 */
function importModWithoutPermissions(
  mod = new URL("../../mod.ts", import.meta.url).href,
) {
  return withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `const m = await import(${
        JSON.stringify(mod)
      });\nconsole.log(typeof m.Runtime);\n`,
    );
    return await run(Deno.execPath(), [
      "run",
      "--no-prompt",
      "--no-config",
      `${dir}/probe.ts`,
    ], { cwd: dir });
  }, "alloctrace-noperm-");
}

Deno.test("the no-permission import check fails for a module that touches Deno at load time", async () => {
  await withTempDir(async (dir) => {
    // A copy of the library with one top-level Deno.env.get added to a
    // module deep in the graph: the check above must catch it.
    for (const sub of ["lib"]) {
      await run("cp", ["-r", `${ROOT}${sub}`, `${dir}/${sub}`]);
    }
    await Deno.copyFile(`${ROOT}mod.ts`, `${dir}/mod.ts`);
    await Deno.copyFile(`${ROOT}deno.json`, `${dir}/deno.json`);
    // (The copy has the checkout's modes, which may be read-only.)
    await run("chmod", ["-R", "u+w", dir]);
    const clock = `${dir}/lib/runtime/clock.ts`;
    await Deno.writeTextFile(
      clock,
      `export const _probe = Deno.env.get("HOME");\n` +
        await Deno.readTextFile(clock),
    );
    const r = await importModWithoutPermissions(
      pathToFileURL(`${dir}/mod.ts`).href,
    );
    assertTrue(r.code !== 0, `the probe passed:\n${r.stdout}`);
    assertIncludes(r.stderr, "NotCapable");
  }, "alloctrace-touchy-");
});

Deno.test("a fresh Deno cache fetches only the runtime's npm packages (no test-only fast-check)", async () => {
  await withTempDir(async (denoDir) => {
    // An empty cache: Deno installs what the command needs from the npm
    // registry, and everything deno.json's imports list (so fast-check, if
    // it were there: an offline first run would then fail).
    const r = await run(Deno.execPath(), [
      "run",
      ENV_FLAG,
      "main.ts",
      "run",
      "leak",
      "--n",
      "10",
    ], { env: { DENO_DIR: denoDir } });
    assertEquals(r.code, 0, r.stderr);
    const npm = [...Deno.readDirSync(`${denoDir}/npm/registry.npmjs.org`)]
      .map((e) => e.name);
    assertEquals(
      npm,
      ["pprof-format"],
      "deno.lock or deno.json lists a test-only package: Deno installs all of the lock's npm packages on a first run (deno task test runs with --no-lock so tests do not add fast-check to it)",
    );
  }, "alloctrace-denodir-");
});

Deno.test("the README's example commands run as written on a checkout with nothing beside it", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  assertTrue(!readme.includes("../shared"), "README points to ../shared");
  // Every variable the CLI reads is in each --allow-env list of the README
  // (on a terminal, Deno would stop at a prompt for a missing one).
  const read = new Set<string>();
  for (const f of ["main.ts", ...await lsTs(`${ROOT}lib/cli`)]) {
    // native runs only with --allow-all (checked before anything is read),
    // so what it reads (PATH, to find the program) needs no --allow-env.
    if (f.endsWith("/lib/cli/native.ts")) continue;
    const text = await Deno.readTextFile(f.startsWith("/") ? f : `${ROOT}${f}`);
    for (
      const m of text.matchAll(
        /(?:Deno\.env\.get|\benv|\benvVar)\("([A-Z_]+)"\)/g,
      )
    ) {
      read.add(m[1]);
    }
  }
  assertTrue(read.has("TERM") && read.has("GOGC"), [...read].join());
  for (const m of readme.matchAll(/--allow-env=([A-Z_,]+)/g)) {
    for (const name of read) {
      assertTrue(m[1].split(",").includes(name), `${m[0]} lacks ${name}`);
    }
  }
  const lines = readme.split("\n");
  const files = await checkoutFiles();
  await withTempDir(async (dir) => {
    // The tracked files as they are in the work tree, and nothing else.
    const checkout = `${dir}/alloctrace`;
    for (const f of files) {
      const to = `${checkout}/${f}`;
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      try {
        await Deno.copyFile(`${ROOT}${f}`, to);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted, not committed
      }
    }
    let ran = 0;
    for (const [i, line] of lines.entries()) {
      const m = /^\$ deno run (.*)$/.exec(line);
      // The examples that need only the checkout (others name the reader's
      // own files: prog.trace, ./prog).
      if (
        m === null || !/tests\/testdata\/|main\.ts (run|workloads)\b/.test(line)
      ) {
        continue;
      }
      const args = m[1].split(/\s+/);
      const r = await run(Deno.execPath(), ["run", "--no-prompt", ...args], {
        cwd: checkout,
      });
      assertEquals(r.code, 0, `${line}\n${r.stderr}`);
      const next = lines[i + 1];
      if (!/^(\$|\.\.\.|```)/.test(next)) {
        assertEquals(r.stdout.split("\n")[0], next, line);
      }
      assertShownOutput(line, lines.slice(i + 1), r.stdout);
      ran++;
    }
    assertTrue(ran >= 4, `only ${ran} README commands ran`);
  }, "alloctrace-readme-");
});

/**
 * Every line the README shows under a command (up to the block's end or the
 * next command) is a line of what the command prints now, in order:
 * figures recorded before a change of the code cannot stay in it. `...`
 * stands for lines left out, `…` inside a line for what varies from run to
 * run (real time); runs of spaces count as one, so a table cut to a few
 * rows may be aligned for them.
 */
function assertShownOutput(
  command: string,
  after: string[],
  stdout: string,
): void {
  const norm = (l: string) => l.trim().replace(/\s+/g, " ");
  const out = stdout.split("\n").map(norm);
  let at = 0;
  for (const shown of after) {
    if (/^(\$ |```)/.test(shown)) break;
    if (shown === "...") continue;
    const want = new RegExp(
      `^${
        norm(shown).split("…").map((p) =>
          p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        )
          .join(".*")
      }$`,
    );
    const found = out.findIndex((l, k) => k >= at && want.test(l));
    assertTrue(
      found >= 0,
      `README: \`${command}\` does not print (or not at this place):\n${shown}\nit prints:\n${stdout}`,
    );
    at = found + 1;
  }
}

/**
 * The repository's files, relative to ROOT: git's tracked files in a git
 * checkout; in a copy without git (`git archive`, a release tarball), every
 * file there is but `dist/`, what `deno task compile` writes.
 */
async function checkoutFiles(): Promise<string[]> {
  const top = await run("git", ["-C", ROOT, "rev-parse", "--show-toplevel"])
    .catch(() => null); // (no git at all)
  if (top?.code === 0 && `${top.stdout.trim()}/` === ROOT) {
    return (await run("git", ["-C", ROOT, "ls-files", "-z"])).stdout
      .split("\0").filter((f) => f !== "");
  }
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${ROOT}${rel}`)) {
      const name = `${rel}${e.name}`;
      if (name === "dist" || name === ".git") continue;
      if (e.isDirectory) await walk(`${name}/`);
      else if (e.isFile) out.push(name);
    }
  };
  await walk("");
  return out;
}

async function lsTs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ts")) out.push(`${dir}/${e.name}`);
  }
  return out;
}
