// Program leak: a cache that only grows (main.Leaked, kept forever) beside
// short-lived temporaries (main.Temp), with a GC every 500 iterations so the
// leak shows as a live count that only grows across GC cycles. A pause
// halfway makes the trace two generations long.
//
// Usage: GODEBUG=traceallocfree=1 go run main.go OUT.trace OUT.truth.json
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/trace"
	"time"
)

// Leaked is retained by the global cache: 64 bytes with a pointer.
type Leaked struct {
	id   int
	next *Leaked
	buf  [48]byte
}

// Temp is garbage as soon as the next one is made: 32 bytes with a pointer.
type Temp struct {
	p *Temp
	a [3]int64
}

var (
	cache []*Leaked
	sink  *Temp
)

func main() {
	const n = 3000
	cache = make([]*Leaked, 0, n) // before tracing: no growslice in the trace
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	truth := map[string]map[string]int{
		"main.Leaked": {"allocated": 0, "live": 0},
		"main.Temp":   {"allocated": 0, "live": 0},
	}
	runtime.GC()
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	for i := 0; i < n; i++ {
		cache = append(cache, &Leaked{id: i})
		truth["main.Leaked"]["allocated"]++
		for j := 0; j < 2; j++ {
			sink = &Temp{p: sink}
			sink.p = nil
			truth["main.Temp"]["allocated"]++
		}
		if i%500 == 499 {
			runtime.GC()
		}
		if i == n/2 {
			// Past the tracer's 1 s period: a second generation, which
			// opens with a snapshot of every live span, object and stack.
			time.Sleep(1200 * time.Millisecond)
		}
	}
	sink = nil
	runtime.GC()
	trace.Stop()
	truth["main.Leaked"]["live"] = len(cache)
	runtime.KeepAlive(cache)
	writeTruth(os.Args[2], "leak", truth)
}

func writeTruth(path, program string, types map[string]map[string]int) {
	b, _ := json.MarshalIndent(map[string]any{"program": program, "types": types}, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
}
