// Program goroutines: three kinds of worker, each started at its own `go`
// statement and allocating its own type, so allocations can be told apart
// by goroutine creation site: producers make main.Job (kept in a
// per-producer slice), consumers make main.Result (half kept), and a
// logger makes main.LogLine (none kept).
//
// Usage: GODEBUG=traceallocfree=1 go run main.go OUT.trace OUT.truth.json
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
)

type Job struct {
	id      int
	payload [56]byte
	owner   *[]*Job
}

type Result struct {
	job *Job
	sum [24]byte
}

type LogLine struct {
	msg  *string
	pad  [64]byte
	next *LogLine
}

const (
	producers   = 3
	perProducer = 1500
)

var (
	kept    [producers][]*Job
	results []*Result
	logSink *LogLine
)

func producer(i int, out chan<- *Job, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := 0; j < perProducer; j++ {
		job := &Job{id: j, owner: &kept[i]}
		if j%3 == 0 {
			kept[i] = append(kept[i], job)
		}
		out <- job
	}
}

func consumer(in <-chan *Job, mu *sync.Mutex, wg *sync.WaitGroup) {
	defer wg.Done()
	n := 0
	for job := range in {
		r := &Result{job: job}
		if n%2 == 0 {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}
		n++
	}
}

func logger(lines int, wg *sync.WaitGroup) {
	defer wg.Done()
	s := "line"
	for i := 0; i < lines; i++ {
		logSink = &LogLine{msg: &s}
		if i%200 == 0 {
			runtime.Gosched()
		}
	}
	logSink = nil
}

func main() {
	for i := range kept {
		kept[i] = make([]*Job, 0, perProducer)
	}
	results = make([]*Result, 0, producers*perProducer)
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	runtime.GC()
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	jobs := make(chan *Job, 64)
	var mu sync.Mutex
	var pwg, cwg, lwg sync.WaitGroup
	// Consumers count what they keep by even positions of their own stream:
	// the total kept is the sum, counted below from len(results).
	for i := 0; i < 2; i++ {
		cwg.Add(1)
		go consumer(jobs, &mu, &cwg)
	}
	lwg.Add(1)
	go logger(4000, &lwg)
	for i := 0; i < producers; i++ {
		pwg.Add(1)
		go producer(i, jobs, &pwg)
	}
	pwg.Wait()
	close(jobs)
	cwg.Wait()
	lwg.Wait()
	runtime.GC()
	trace.Stop()
	liveJobs := 0
	for i := range kept {
		liveJobs += len(kept[i])
	}
	// A Result that is kept keeps its Job alive too.
	keptJob := map[*Job]bool{}
	for i := range kept {
		for _, j := range kept[i] {
			keptJob[j] = true
		}
	}
	for _, r := range results {
		if !keptJob[r.job] {
			keptJob[r.job] = true
			liveJobs++
		}
	}
	truth := map[string]map[string]int{
		"main.Job":     {"allocated": producers * perProducer, "live": liveJobs},
		"main.Result":  {"allocated": producers * perProducer, "live": len(results)},
		"main.LogLine": {"allocated": 4000, "live": 0},
	}
	runtime.KeepAlive(kept)
	runtime.KeepAlive(results)
	b, _ := json.MarshalIndent(map[string]any{"program": "goroutines", "types": truth,
		// Each type is allocated by goroutines of one start function only.
		"byGoroutine": map[string]map[string]int{
			"main.producer": {"main.Job": producers * perProducer},
			"main.consumer": {"main.Result": producers * perProducer},
			"main.logger":   {"main.LogLine": 4000}}}, "", "  ")
	if err := os.WriteFile(os.Args[2], append(b, '\n'), 0o644); err != nil {
		panic(err)
	}
}
