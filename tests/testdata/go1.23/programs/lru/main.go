// Program lru: a least-recently-used cache of 256 entries (a map and a
// doubly linked list) under 5,000 puts of mostly new keys: main.entry and
// its main.value are evicted in order, the last 256 stay live.
//
// Usage: GODEBUG=traceallocfree=1 go run main.go OUT.trace OUT.truth.json
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/trace"
)

type value struct {
	data [40]byte
	ref  *entry
}

type entry struct {
	key        int
	val        *value
	prev, next *entry
}

type lru struct {
	cap        int
	m          map[int]*entry
	head, tail *entry // head: most recent
}

func (c *lru) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *lru) pushFront(e *entry) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

// put returns whether it allocated a new entry.
func (c *lru) put(k int) bool {
	if e, ok := c.m[k]; ok {
		c.unlink(e)
		c.pushFront(e)
		return false
	}
	e := &entry{key: k}
	e.val = &value{ref: e}
	c.m[k] = e
	c.pushFront(e)
	if len(c.m) > c.cap {
		old := c.tail
		c.unlink(old)
		delete(c.m, old.key)
	}
	return true
}

func main() {
	c := &lru{cap: 256, m: make(map[int]*entry, 512)} // sized first: no map growth while tracing
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	truth := map[string]map[string]int{
		"main.entry": {"allocated": 0, "live": 0},
		"main.value": {"allocated": 0, "live": 0},
	}
	runtime.GC()
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	for i := 0; i < 5000; i++ {
		k := i
		if i%5 == 0 {
			k = i - 3 // a recent key again: a hit, no allocation
			if k < 0 {
				k = 0
			}
		}
		if c.put(k) {
			truth["main.entry"]["allocated"]++
			truth["main.value"]["allocated"]++
		}
		if i%1000 == 999 {
			runtime.GC()
		}
	}
	runtime.GC()
	trace.Stop()
	truth["main.entry"]["live"] = len(c.m)
	truth["main.value"]["live"] = len(c.m)
	runtime.KeepAlive(c)
	writeTruth(os.Args[2], "lru", truth)
}

func writeTruth(path, program string, types map[string]map[string]int) {
	b, _ := json.MarshalIndent(map[string]any{"program": program, "types": types}, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
}
