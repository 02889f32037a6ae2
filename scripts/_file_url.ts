/**
 * File URLs of paths the user gives (a checkout, `--against DIR`,
 * `--real-traces DIR`).
 *
 * @module
 */

import { pathToFileURL } from "node:url";

/**
 * The `file:` URL of `path` (made absolute against the working directory),
 * each character a URL reserves escaped: `file://${path}` would read a `#`
 * in it as a fragment, a `%` as an escape and a `?` as a query. A trailing
 * `/` stays, so the URL of a folder resolves names inside it. Back to a
 * path with `fileURLToPath`, not `.pathname` (which keeps the escapes).
 */
export function fileUrl(path: string): URL {
  return pathToFileURL(path);
}
