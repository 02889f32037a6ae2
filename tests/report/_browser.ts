/**
 * The report tests' browser: a headless Chromium page that records console
 * errors and blocks every request that is not a file, opening a page,
 * screenshots into dist/test-artifacts, and setting a select.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { CdpPage } from "../_cdp.ts";
import { ROOT } from "../_run.ts";

/** A browser page that records console errors and blocks every non-file request. */
export async function watchedPage(chromium: string): Promise<
  { page: CdpPage; errors: string[]; requests: string[] }
> {
  const page = await CdpPage.launch(chromium);
  const errors: string[] = [];
  const requests: string[] = [];
  page.on(
    "Runtime.exceptionThrown",
    (p) => errors.push(JSON.stringify(p.exceptionDetails)),
  );
  page.on("Runtime.consoleAPICalled", (p) => {
    if (p.type === "error" || p.type === "warning") {
      errors.push(JSON.stringify(p.args));
    }
  });
  page.on("Log.entryAdded", (p) => {
    const e = p.entry as { level: string; text: string; url?: string };
    if (e.level === "error") errors.push(`${e.text} ${e.url ?? ""}`);
  });
  page.on("Fetch.requestPaused", (p) => {
    const req = p.request as { url: string };
    if (req.url.startsWith("file:")) {
      page.send("Fetch.continueRequest", { requestId: p.requestId });
    } else {
      requests.push(req.url);
      page.send("Fetch.failRequest", {
        requestId: p.requestId,
        errorReason: "BlockedByClient",
      });
    }
  });
  await page.send("Runtime.enable");
  await page.send("Log.enable");
  await page.send("Page.enable");
  await page.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] });
  await setViewport(page, 1200, 2400);
  return { page, errors, requests };
}

/** Sets the page's viewport to `width` × `height` CSS pixels, at scale 1. */
export async function setViewport(
  page: CdpPage,
  width: number,
  height: number,
): Promise<void> {
  await page.send("Emulation.setDeviceMetricsOverride", {
    width,
    height,
    deviceScaleFactor: 1,
    mobile: false,
  });
}

export async function open(page: CdpPage, path: string): Promise<void> {
  const loaded = page.once("Page.loadEventFired");
  await page.send("Page.navigate", { url: pathToFileURL(path).href });
  await loaded;
}

export async function screenshot(page: CdpPage, name: string): Promise<void> {
  const shot = await page.send("Page.captureScreenshot", { format: "png" });
  // A picture for people, not an assertion: a checkout that may not be
  // written (CI's may be read-only) keeps none, and says so.
  try {
    await Deno.mkdir(`${ROOT}dist/test-artifacts`, { recursive: true });
    await Deno.writeFile(
      `${ROOT}dist/test-artifacts/${name}.png`,
      Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0)),
    );
  } catch (e) {
    console.log(`screenshot ${name} not kept: ${(e as Error).message}`);
  }
}

export const setSelect = (id: string, value: string) =>
  `(() => { const s = document.getElementById("${id}"); s.value = "${value}"; s.dispatchEvent(new Event("change")); })()`;
