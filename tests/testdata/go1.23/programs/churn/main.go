// Program churn: short-lived objects of every kind of size the allocator
// treats apart: small with pointers (main.Small, 32 B), small past 512 B
// with pointers (main.Medium: a malloc header, so the traced address is 8
// bytes into its slot), large (main.Large, 40 KiB: its own span) and
// pointer-free byte buffers ([]byte: type uint8). Nothing survives.
//
// Usage: GODEBUG=traceallocfree=1 go run main.go OUT.trace OUT.truth.json [ROUNDS]
// (ROUNDS, default 1, repeats the loop: the benchmark's large trace.)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
)

type Small struct {
	next *Small
	v    [3]int64
}

type Medium struct {
	ptrs [80]*Small
}

type Large struct {
	ptrs [5120]*Small
}

var (
	sinkS *Small
	sinkM *Medium
	sinkL *Large
	sinkB []byte
)

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	truth := map[string]map[string]int{
		"main.Small":  {"allocated": 0, "live": 0},
		"main.Medium": {"allocated": 0, "live": 0},
		"main.Large":  {"allocated": 0, "live": 0},
	}
	runtime.GC()
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	rounds := 1
	if len(os.Args) > 3 {
		if _, err := fmt.Sscan(os.Args[3], &rounds); err != nil {
			panic(err)
		}
	}
	for i := 0; i < 4000*rounds; i++ {
		sinkS = &Small{}
		truth["main.Small"]["allocated"]++
		if i%4 == 0 {
			sinkM = &Medium{}
			truth["main.Medium"]["allocated"]++
		}
		if i%50 == 0 {
			sinkL = &Large{}
			truth["main.Large"]["allocated"]++
		}
		if i%8 == 0 {
			sinkB = make([]byte, 100+i%900)
		}
	}
	sinkS, sinkM, sinkL, sinkB = nil, nil, nil, nil
	runtime.GC()
	trace.Stop()
	writeTruth(os.Args[2], "churn", truth)
}

func writeTruth(path, program string, types map[string]map[string]int) {
	b, _ := json.MarshalIndent(map[string]any{"program": program, "types": types}, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
}
