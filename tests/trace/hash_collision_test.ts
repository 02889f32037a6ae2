/**
 * The scanner's line hashes are not trusted blindly by a crafted trace
 * (review2 #2): two function names (or type names) built to have the same
 * hash under a fixed, public chain are still two frames (two types), as the
 * string parser reads them.
 */
import { assertParsersAgree } from "./_parsers_agree.ts";

const enc = new TextEncoder();

/**
 * Pairs of names that collided under f278d25's one chain
 * `h = rotl((h ^ w) * K1, 31)` from its fixed seed.
 */
const PAIRS: [string, Uint8Array, Uint8Array][] = [
  // The reviewer's: the last word solved for the other name's hash
  // (/tmp/review2/keep/collide.ts).
  [
    "solved last word",
    enc.encode("main.collideAAAAZZZZZZZZ"),
    enc.encode("main.collideeBBBP|R0ZZZZ"),
  ],
  // Whatever the chain's start: bit 63 of a word passes the multiply by an
  // odd constant as it is, the rotation takes it to bit 30, and the next
  // word's bit 30 cancels it (a byte over 0x7f: not UTF-8 there).
  (() => {
    const a = enc.encode("main.coXlideAAAAZZ");
    const b = a.slice();
    b[7] ^= 0x80;
    b[11] ^= 0x40;
    return ["a difference no seed changes", a, b] as [
      string,
      Uint8Array,
      Uint8Array,
    ];
  })(),
];

/** Three records calling `name`, allocating `type`, at addresses from `base`. */
function records(name: Uint8Array, type: Uint8Array, base: number) {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    parts.push(
      enc.encode(`tracealloc(0x${(base + i * 0x10000).toString(16)}, 0x10, `),
      type,
      enc.encode(`)
goroutine 1 [running]:
runtime.mallocgc(0x10, 0x4b1234, 0x1)
\truntime/malloc.go:1131 +0x4c5 fp=0xc000090e40 sp=0xc000090dc0 pc=0x40c5b1
runtime.newobject(0x4b1234?)
\truntime/malloc.go:1254 +0x27 fp=0xc000090e68 sp=0xc000090e40 pc=0x40c8e7
`),
      name,
      enc.encode(`(0x1)
\tmain.go:3 +0x1d fp=0xc000090f80 sp=0xc000090e68 pc=0x4a2319
main.main()
\tmain.go:9 +0x25 fp=0xc000090fd0 sp=0xc000090f80 pc=0x4a2400

`),
    );
  }
  return parts;
}

function compare(bytes: Uint8Array, chunk: number, what: string) {
  assertParsersAgree(new TextDecoder().decode(bytes), bytes, chunk, what);
}

for (const [what, a, b] of PAIRS) {
  Deno.test(`byte parser: two function names crafted to collide in the line hash are two frames (${what})`, () => {
    const t = enc.encode("main.T");
    const bytes = new Uint8Array(
      [
        ...records(a, t, 0xc000100000),
        ...records(b, t, 0xc001100000),
      ].flatMap((p) => [...p]),
    );
    for (const chunk of [bytes.length, 4096, 17]) {
      compare(bytes, chunk, `${what}, chunks of ${chunk}`);
    }
  });

  Deno.test(`byte parser: two type names crafted to collide in the line hash are two types (${what})`, () => {
    const f = enc.encode("main.f");
    const bytes = new Uint8Array(
      [
        ...records(f, a, 0xc000100000),
        ...records(f, b, 0xc001100000),
      ].flatMap((p) => [...p]),
    );
    for (const chunk of [bytes.length, 4096, 17]) {
      compare(bytes, chunk, `${what}, chunks of ${chunk}`);
    }
  });
}
