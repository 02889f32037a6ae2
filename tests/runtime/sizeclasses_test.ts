import { assertEquals } from "../_assert.ts";
import { getPreset, PRESET_NAMES, sizeClassesOf } from "../../mod.ts";

import type { Golden } from "../../scripts/gen_sizeclass_golden.ts";

async function golden(name: string): Promise<Golden> {
  const url = new URL(`../testdata/sizeclasses/${name}.json`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url));
}

for (const name of PRESET_NAMES) {
  Deno.test(`${name}: the computed size-class table equals the reference's`, async () => {
    const g = await golden(name);
    const t = sizeClassesOf(getPreset(name));
    assertEquals(t.pageSize, g.pageSize);
    assertEquals(t.numClasses, g.classes.length + 1);
    for (const c of g.classes) {
      assertEquals(
        {
          size: t.classToSize[c.class],
          npages: t.classToAllocNPages[c.class],
          objects: t.classToNElems[c.class],
          tail: t.classToAllocNPages[c.class] * t.pageSize -
            t.classToNElems[c.class] * t.classToSize[c.class],
        },
        {
          size: c.size,
          npages: c.npages,
          objects: c.objects,
          tail: c.tailWaste,
        },
        `class ${c.class}`,
      );
      assertEquals(c.npages * g.pageSize, c.bytesPerSpan);
    }
  });

  Deno.test(`${name}: every size 0..32768 maps to Go's class, size, pages and objects`, async () => {
    const g = await golden(name);
    const t = sizeClassesOf(getPreset(name));
    let k = 0;
    for (let size = 0; size <= 32768; size++) {
      // The golden answer: the smallest class whose size holds the request.
      while (g.classes[k].size < size) k++;
      const want = size === 0 ? g.sizeZeroClass : g.classes[k].class;
      const got = t.sizeToClass(size);
      if (got !== want) {
        throw new Error(`size ${size}: class ${got}, want ${want}`);
      }
      if (size > 0) {
        const c = g.classes[k];
        if (
          t.classToSize[got] !== c.size ||
          t.classToAllocNPages[got] !== c.npages ||
          t.classToNElems[got] !== c.objects
        ) throw new Error(`size ${size}: class ${got} has other dimensions`);
      }
    }
  });
}
