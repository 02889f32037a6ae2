/**
 * The temporary copies of images run from memory (lib/native/image_copy.ts)
 * are found again by the image's identity: an image rewritten in place
 * keeps its inode (as a reused inode does), and was given the older
 * image's copy.
 */
import { assertEquals, assertTrue } from "../_assert.ts";
import { imageCopy, removeImageCopies } from "../../lib/native/image_copy.ts";

/** Runs `prog` (an idle program), copies its image, and ends it. */
async function copyOf(prog: string): Promise<string | null> {
  const p = new Deno.Command(prog, { args: ["30"] }).spawn();
  try {
    const exe = Deno.readLinkSync(`/proc/${p.pid}/exe`);
    return imageCopy(p.pid, 0, 0, exe);
  } finally {
    p.kill();
    await p.status;
  }
}

Deno.test("image copies: an image rewritten in place gets a new copy", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "image-copy-test-" });
  try {
    const prog = `${dir}/prog`;
    const a = Deno.readFileSync("/bin/sleep");
    Deno.writeFileSync(prog, a, { mode: 0o755 });
    const first = await copyOf(prog);
    assertTrue(first !== null, "no copy");
    assertEquals(Deno.readFileSync(first).length, a.length);
    // The same inode, other bytes (sleep with a longer tail).
    const b = new Uint8Array(a.length + 4096);
    b.set(a);
    const ino = Deno.statSync(prog).ino;
    Deno.writeFileSync(prog, b);
    assertEquals(Deno.statSync(prog).ino, ino);
    const second = await copyOf(prog);
    assertTrue(second !== null && second !== first, `${second}`);
    assertEquals(Deno.readFileSync(second).length, b.length);
  } finally {
    removeImageCopies();
    Deno.removeSync(dir, { recursive: true });
  }
});
