/**
 * A minimal Chrome DevTools Protocol client for the report's browser test:
 * launches Debian's Chromium headless and talks to one page over a
 * WebSocket (no playwright needed).
 *
 * @module
 */

/** Paths where Debian's Chromium lives. */
export const CHROMIUM_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
];

/** The Chromium binary, or null when missing. */
export function findChromium(): string | null {
  for (const p of CHROMIUM_PATHS) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not there
    }
  }
  return null;
}

type Handler = (params: Record<string, unknown>) => void;

/** A page in a headless Chromium. */
export class CdpPage {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #handlers = new Map<string, Handler[]>();
  #proc: Deno.ChildProcess;
  #dir: string;

  private constructor(ws: WebSocket, proc: Deno.ChildProcess, dir: string) {
    this.#ws = ws;
    this.#proc = proc;
    this.#dir = dir;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message}`));
        else p?.resolve(msg.result);
      } else {
        for (const h of this.#handlers.get(msg.method) ?? []) h(msg.params);
      }
    };
  }

  /** Launches Chromium and connects to its first page. */
  static async launch(chromium: string): Promise<CdpPage> {
    const dir = await Deno.makeTempDir({ prefix: "alloctrace-chromium-" });
    const proc = new Deno.Command(chromium, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--remote-debugging-port=0",
        `--user-data-dir=${dir}`,
        "--window-size=1200,1000",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let port = 0;
    const deadline = Date.now() + 30000;
    while (port === 0 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(buf);
      if (m) port = Number(m[1]);
    }
    // Keep draining stderr so Chromium never blocks on it.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* drain */ }
      } catch { /* closed */ }
    })();
    if (port === 0) {
      throw new Error(`chromium did not start: ${buf.slice(0, 500)}`);
    }
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`))
      .json();
    const page = list.find((t: { type: string }) => t.type === "page");
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = rej;
    });
    return new CdpPage(ws, proc, dir);
  }

  /** Sends a command and waits for its result. */
  send(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) =>
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
      })
    );
  }

  /** Subscribes to an event. */
  on(method: string, h: Handler): void {
    const list = this.#handlers.get(method) ?? [];
    list.push(h);
    this.#handlers.set(method, list);
  }

  /** Waits for the next occurrence of an event. */
  once(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const h: Handler = (p) => {
        this.#handlers.set(
          method,
          (this.#handlers.get(method) ?? []).filter((x) => x !== h),
        );
        resolve(p);
      };
      this.on(method, h);
    });
  }

  /** Evaluates an expression in the page and returns its value. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
    return (r.result as { value: T }).value;
  }

  /** A real mouse click at page coordinates. */
  async click(x: number, y: number): Promise<void> {
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x,
        y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /** Closes the page and the browser. */
  async close(): Promise<void> {
    try {
      this.#ws.close();
    } catch { /* closed */ }
    try {
      this.#proc.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#proc.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
