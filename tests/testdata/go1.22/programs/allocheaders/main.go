// Command allocheaders shows Go 1.22's allocation headers in an
// allocfreetrace: pointerful objects around minSizeForMallocHeader (512 B on
// amd64), with a noscan and a large object as controls. Each kind comes
// from its own noinline site; the program records the address each object
// got, so a reader can check that tracealloc prints that very address
// (8 bytes into the slot when the object has a header) and that the
// tracefree of a dropped one prints the slot's base and full class size.
//
//	site         type          bytes  pointers  Go 1.22 (runtime/malloc.go)
//	main.newP504 main.P504      504   yes       no header: class 512, prints 0x200
//	main.newP512 main.P512      512   yes       no header (heapBitsInSpan: <= 512): class 512
//	main.newP520 main.P520      520   yes       header: class for 528 = 576, prints 576-8 = 0x238
//	main.newP576 main.P576      576   yes       header: class for 584 = 640, prints 0x278
//	main.newA128 [128]*int     1024   yes       header: class for 1032 = 1152, prints 0x478
//	main.newN520 [520]uint8     520   no        noscan, no header: class 576, prints 0x240
//	main.newP32760 main.P32760 32760  yes       header: class 32768, prints 0x7ff8
//	main.newP40000 main.P40000 40000  yes       large object: no header (span.largeType), 5 pages
//
// Of each kind, Count objects are made and every second one is dropped
// before the final runtime.GC(), which sweeps everything, so those get
// their tracefree.
//
// Flags: -truth F writes the ground truth JSON (sites, addresses).
package main

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"unsafe"
)

type P504 struct {
	p *int
	b [496]byte
}
type P512 struct {
	p *int
	b [504]byte
}
type P520 struct {
	p *int
	b [512]byte
}
type P576 struct {
	p *int
	b [568]byte
}
type P32760 struct {
	p *int
	b [32752]byte
}
type P40000 struct {
	p *int
	b [39992]byte
}

const Count = 4

var keep []unsafe.Pointer

//go:noinline
func newP504() unsafe.Pointer { return unsafe.Pointer(new(P504)) }

//go:noinline
func newP512() unsafe.Pointer { return unsafe.Pointer(new(P512)) }

//go:noinline
func newP520() unsafe.Pointer { return unsafe.Pointer(new(P520)) }

//go:noinline
func newP576() unsafe.Pointer { return unsafe.Pointer(new(P576)) }

//go:noinline
func newA128() unsafe.Pointer { return unsafe.Pointer(new([128]*int)) }

//go:noinline
func newN520() unsafe.Pointer { return unsafe.Pointer(new([520]byte)) }

//go:noinline
func newP32760() unsafe.Pointer { return unsafe.Pointer(new(P32760)) }

//go:noinline
func newP40000() unsafe.Pointer { return unsafe.Pointer(new(P40000)) }

type site struct {
	name, typ string
	size      uintptr
	ptr       bool
	make      func() unsafe.Pointer
	addrs     []uintptr
}

func main() {
	truthFile := flag.String("truth", "", "write ground truth JSON here")
	flag.Parse()
	sites := []*site{
		{"main.newP504", "main.P504", unsafe.Sizeof(P504{}), true, newP504, nil},
		{"main.newP512", "main.P512", unsafe.Sizeof(P512{}), true, newP512, nil},
		{"main.newP520", "main.P520", unsafe.Sizeof(P520{}), true, newP520, nil},
		{"main.newP576", "main.P576", unsafe.Sizeof(P576{}), true, newP576, nil},
		{"main.newA128", "[128]*int", unsafe.Sizeof([128]*int{}), true, newA128, nil},
		{"main.newN520", "[520]uint8", unsafe.Sizeof([520]byte{}), false, newN520, nil},
		{"main.newP32760", "main.P32760", unsafe.Sizeof(P32760{}), true, newP32760, nil},
		{"main.newP40000", "main.P40000", unsafe.Sizeof(P40000{}), true, newP40000, nil},
	}
	keep = make([]unsafe.Pointer, 0, len(sites)*Count)
	for _, s := range sites {
		s.addrs = make([]uintptr, 0, Count)
	}
	for i := 0; i < Count; i++ {
		for _, s := range sites {
			p := s.make()
			s.addrs = append(s.addrs, uintptr(p))
			if i%2 == 0 {
				keep = append(keep, p)
			}
		}
	}
	runtime.GC() // full GC + full sweep: every dropped object gets its tracefree

	if *truthFile != "" {
		b := make([]byte, 0, 8<<10)
		b = append(b, "{\n  \"program\": \"allocheaders\",\n  \"go\": "...)
		b = strconv.AppendQuote(b, runtime.Version())
		b = append(b, ",\n  \"gomaxprocs\": "...)
		b = strconv.AppendInt(b, int64(runtime.GOMAXPROCS(0)), 10)
		b = append(b, ",\n  \"sites\": ["...)
		for i, s := range sites {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {\"site\":"...)
			b = strconv.AppendQuote(b, s.name)
			b = append(b, ",\"type_printed\":"...)
			b = strconv.AppendQuote(b, s.typ)
			b = append(b, ",\"requested_bytes\":"...)
			b = strconv.AppendInt(b, int64(s.size), 10)
			b = append(b, ",\"has_pointers\":"...)
			b = strconv.AppendBool(b, s.ptr)
			b = append(b, ",\"count\":"...)
			b = strconv.AppendInt(b, Count, 10)
			b = append(b, ",\"live_at_exit\":"...)
			b = strconv.AppendInt(b, (Count+1)/2, 10)
			b = append(b, ",\"addrs\":["...)
			for j, a := range s.addrs {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendQuote(b, "0x"+strconv.FormatUint(uint64(a), 16))
			}
			b = append(b, "],\"live\":["...)
			for j := range s.addrs {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendBool(b, j%2 == 0)
			}
			b = append(b, "]}"...)
		}
		b = append(b, "\n  ],\n  \"notes\": \"addrs are what the program got from new (in allocation order); live says which were kept past the final runtime.GC(), the others must have a tracefree.\"\n}\n"...)
		if err := os.WriteFile(*truthFile, b, 0o644); err != nil {
			panic(err)
		}
	}
	runtime.KeepAlive(keep)
}
