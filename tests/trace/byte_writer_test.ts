/**
 * ByteWriter hands whole records to its sink in chunks of about
 * `chunkBytes`, whatever its buffer's size was when a record started (it
 * grows on demand) and however large a record is.
 */
import { assertEquals } from "../_assert.ts";
import { ByteWriter } from "../../mod.ts";

Deno.test("ByteWriter: chunks end at the first record end past chunkBytes, with every byte in order", () => {
  const chunks: Uint8Array[] = [];
  const w = new ByteWriter((b) => chunks.push(b.slice()), 1 << 20);
  // Records of 1,000 bytes, then one of 300 KB (past the buffer's room).
  const sizes = [...Array(3000).fill(1000), 300_000, ...Array(10).fill(1000)];
  let n = 0;
  for (const size of sizes) {
    w.reserve(size);
    for (let i = 0; i < size; i++) w.putByte((n + i) & 0xff);
    n += size;
    w.endRecord();
  }
  w.flush();
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  assertEquals(at, n);
  let wrong = 0;
  let pos = 0;
  for (const size of sizes) {
    for (let i = 0; i < size; i++) {
      if (all[pos + i] !== ((pos + i) & 0xff)) wrong++;
    }
    pos += size;
  }
  assertEquals(wrong, 0);
  // 1,049 records of 1,000 bytes reach 1 MiB; the 300 KB record flushes
  // what came before it and starts a chunk of its own.
  assertEquals(chunks.map((c) => c.length), [
    1_049_000,
    1_049_000,
    902_000,
    310_000,
  ]);
  assertEquals(w.written, n);
});
