package metrics

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The go_* families are those of client_golang's default Go collector
// (collectors.NewGoCollector()), with its names, HELP texts and types, so that
// dashboards and alerts made for any Go program work on vrrpd. The go_memstats_* ones
// are made of runtime/metrics values as client_golang makes them, rather than of
// runtime.ReadMemStats, which stops the world.

// The runtime/metrics values a scrape reads, by their place in runtimeSample.values.
const (
	rmGOGC = iota
	rmMemoryLimit
	rmGOMAXPROCS
	rmTinyAllocs
	rmAllocs
	rmFrees
	rmAllocBytes
	rmHeapObjects
	rmHeapGoal
	rmTotal
	rmHeapObjectBytes
	rmHeapUnused
	rmHeapReleased
	rmHeapFree
	rmHeapStacks
	rmOSStacks
	rmMSpanInuse
	rmMSpanFree
	rmMCacheInuse
	rmMCacheFree
	rmProfBuckets
	rmMetadataOther
	rmOther
	numRuntimeValues
)

var runtimeNames = [numRuntimeValues]string{
	rmGOGC:            "/gc/gogc:percent",
	rmMemoryLimit:     "/gc/gomemlimit:bytes",
	rmGOMAXPROCS:      "/sched/gomaxprocs:threads",
	rmTinyAllocs:      "/gc/heap/tiny/allocs:objects",
	rmAllocs:          "/gc/heap/allocs:objects",
	rmFrees:           "/gc/heap/frees:objects",
	rmAllocBytes:      "/gc/heap/allocs:bytes",
	rmHeapObjects:     "/gc/heap/objects:objects",
	rmHeapGoal:        "/gc/heap/goal:bytes",
	rmTotal:           "/memory/classes/total:bytes",
	rmHeapObjectBytes: "/memory/classes/heap/objects:bytes",
	rmHeapUnused:      "/memory/classes/heap/unused:bytes",
	rmHeapReleased:    "/memory/classes/heap/released:bytes",
	rmHeapFree:        "/memory/classes/heap/free:bytes",
	rmHeapStacks:      "/memory/classes/heap/stacks:bytes",
	rmOSStacks:        "/memory/classes/os-stacks:bytes",
	rmMSpanInuse:      "/memory/classes/metadata/mspan/inuse:bytes",
	rmMSpanFree:       "/memory/classes/metadata/mspan/free:bytes",
	rmMCacheInuse:     "/memory/classes/metadata/mcache/inuse:bytes",
	rmMCacheFree:      "/memory/classes/metadata/mcache/free:bytes",
	rmProfBuckets:     "/memory/classes/profiling/buckets:bytes",
	rmMetadataOther:   "/memory/classes/metadata/other:bytes",
	rmOther:           "/memory/classes/other:bytes",
}

// gcQuantiles are the quantiles of go_gc_duration_seconds: the minimum, the quartiles
// and the maximum of the pauses the runtime remembers.
var gcQuantiles = [...]float64{0, 0.25, 0.5, 0.75, 1}

// runtimeSample is what a scrape read of the Go runtime.
type runtimeSample struct {
	values     [numRuntimeValues]uint64 // 0 for a value this Go does not have
	goroutines int
	threads    int
	gc         debug.GCStats
}

// readRuntime reads the runtime's figures; none of the calls stops the world.
func readRuntime() *runtimeSample {
	r := &runtimeSample{goroutines: runtime.NumGoroutine()}
	r.threads, _ = runtime.ThreadCreateProfile(nil)
	r.gc.PauseQuantiles = make([]time.Duration, len(gcQuantiles))
	debug.ReadGCStats(&r.gc)
	var samples [numRuntimeValues]metrics.Sample
	for i := range samples {
		samples[i].Name = runtimeNames[i]
	}
	metrics.Read(samples[:])
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			r.values[i] = s.Value.Uint64()
		}
	}
	return r
}

// goFamilies are the families of client_golang's default Go collector.
func goFamilies() []*family {
	fs := []*family{
		newFamily("go_gc_duration_seconds",
			"A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", summary, writeGCPauses),
		perRuntime("go_goroutines", "Number of goroutines that currently exist.", gauge,
			func(r *runtimeSample) float64 { return float64(r.goroutines) }),
		perRuntime("go_threads", "Number of OS threads created.", gauge,
			func(r *runtimeSample) float64 { return float64(r.threads) }),
		perRuntime("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", gauge,
			func(r *runtimeSample) float64 { return float64(r.gc.LastGC.UnixNano()) / 1e9 }),
		goInfo(),
	}
	// The three runtime/metrics values client_golang exports under their own names,
	// with the runtime's description of them, which changes with the Go version.
	described := map[string]string{}
	for _, d := range metrics.All() {
		described[d.Name] = d.Description
	}
	for _, m := range []struct {
		name string
		at   int
	}{
		{"go_gc_gogc_percent", rmGOGC},
		{"go_gc_gomemlimit_bytes", rmMemoryLimit},
		{"go_sched_gomaxprocs_threads", rmGOMAXPROCS},
	} {
		d, ok := described[runtimeNames[m.at]]
		if !ok {
			continue
		}
		fs = append(fs, perRuntime(m.name, d+" Sourced from "+runtimeNames[m.at]+".", gauge,
			func(r *runtimeSample) float64 { return float64(r.values[m.at]) }))
	}
	for _, m := range memStats {
		fs = append(fs, perRuntime("go_memstats_"+m.name, m.help, m.kind,
			func(r *runtimeSample) float64 { return float64(m.value(&r.values)) }))
	}
	return fs
}

// memStats are the go_memstats_* families that runtime.MemStats used to fill, each
// made of runtime/metrics values as client_golang makes it. The tiny allocations count
// among both the allocations and the frees, as MemStats counts them.
var memStats = []struct {
	name, help, kind string
	value            func(v *[numRuntimeValues]uint64) uint64
}{
	{"alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapObjectBytes] }},
	{"alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", counter,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmAllocBytes] }},
	{"sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmTotal] }},
	{"mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. " +
		"Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", counter,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmAllocs] + v[rmTinyAllocs] }},
	{"frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", counter,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmFrees] + v[rmTinyAllocs] }},
	{"heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapObjectBytes] }},
	{"heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + " +
		"/memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 {
			return v[rmHeapObjectBytes] + v[rmHeapUnused] + v[rmHeapReleased] + v[rmHeapFree]
		}},
	{"heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapReleased] + v[rmHeapFree] }},
	{"heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapObjectBytes] + v[rmHeapUnused] }},
	{"heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapReleased] }},
	{"heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapObjects] }},
	{"stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapStacks] }},
	{"stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapStacks] + v[rmOSStacks] }},
	{"mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmMSpanInuse] }},
	{"mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. " +
		"Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmMSpanInuse] + v[rmMSpanFree] }},
	{"mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmMCacheInuse] }},
	{"mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. " +
		"Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmMCacheInuse] + v[rmMCacheFree] }},
	{"buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmProfBuckets] }},
	{"gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmMetadataOther] }},
	{"other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmOther] }},
	{"next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", gauge,
		func(v *[numRuntimeValues]uint64) uint64 { return v[rmHeapGoal] }},
}

// perRuntime is a family of one sample without labels, of the runtime as the scrape
// read it; a view without a reading of the runtime, as vrrpd metrics prints, has none.
func perRuntime(name, help, kind string, value func(r *runtimeSample) float64) *family {
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		if v.rt != nil {
			t.begin(f)
			t.value(value(v.rt))
		}
	})
}

// goInfo is go_info, with the Go version vrrpd was built with as a label.
func goInfo() *family {
	return newFamily("go_info", "Information about the Go environment.", gauge, func(t *textWriter, f *family, v *view) {
		if v.rt != nil {
			t.begin(f)
			t.label('{', "version", runtime.Version())
			t.closeLabels()
			t.value(1)
		}
	})
}

// writeGCPauses writes go_gc_duration_seconds, a summary of the pauses the runtime
// remembers, with the count and total of all of them.
func writeGCPauses(t *textWriter, f *family, v *view) {
	if v.rt == nil {
		return
	}
	gc := &v.rt.gc
	for i, q := range gcQuantiles {
		t.begin(f)
		t.buf = append(t.buf, `{quantile="`...)
		t.buf = appendFloat(t.buf, q)
		t.buf = append(t.buf, '"', '}')
		t.value(gc.PauseQuantiles[i].Seconds())
	}
	t.beginSuffixed(f, "_sum")
	t.value(gc.PauseTotal.Seconds())
	t.beginSuffixed(f, "_count")
	t.value(float64(gc.NumGC))
}
