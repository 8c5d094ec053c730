package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
)

// manyInstances is the status of a node that is master of n instances spread over
// four interfaces, with a VIP each: IPv4 on the first two interfaces, IPv6 on the
// others, as a node with a thousand virtual routers reports a minute after start.
func manyInstances(n int) control.Status {
	st := control.Status{Node: "lb1", Started: since, Reloads: control.Reloads{Loaded: since}}
	for i := range n {
		ifc, vrid := i/250, i%250+1
		in := control.InstanceStatus{
			Name: fmt.Sprintf("vi_%d_%d", ifc, vrid), Interface: fmt.Sprintf("veth%d", ifc), VRID: vrid,
			Version: 3, Family: "IPv4", State: "MASTER", Since: since.Add(time.Duration(i) * time.Millisecond),
			Transitions:  map[string]uint64{"BACKUP": 1, "MASTER": 1},
			BasePriority: 100, Priority: 100, Master: "192.0.2.1", MasterPriority: 100,
			AdvertInterval: control.Duration(time.Second), MasterAdvertInterval: control.Duration(time.Second),
			SkewTime: control.Duration(609375 * time.Microsecond), MasterDownInterval: control.Duration(3609375 * time.Microsecond),
			AdvertsSent: uint64(60 + i%7), Drops: map[string]uint64{},
			GARPSent: 5, AdvertLatenessMax: control.Duration(time.Duration(i%97) * 13 * time.Microsecond),
		}
		switch ifc {
		case 0:
			in.VIPs = []control.VIPStatus{{Address: fmt.Sprintf("192.0.2.%d/32", vrid), Interface: in.Interface, Present: true}}
		case 1:
			in.VIPs = []control.VIPStatus{{Address: fmt.Sprintf("198.51.100.%d/32", vrid), Interface: in.Interface, Present: true}}
		default:
			in.Family, in.Master, in.GARPSent, in.NASent = "IPv6", "fe80::1", 0, 5
			in.VIPs = []control.VIPStatus{{Address: fmt.Sprintf("2001:db8:%d::%d/128", ifc, vrid), Interface: in.Interface, Present: true}}
		}
		st.Instances = append(st.Instances, in)
	}
	return st
}

// BenchmarkScrape1000 is a scrape of a node with a thousand instances: what vrrpd
// metrics prints, and what the endpoint serves, plain and gzipped. cpu-ms/op counts
// the CPU time of every goroutine, the garbage collector's among them.
func BenchmarkScrape1000(b *testing.B) {
	st := manyInstances(1000)
	e, err := NewExporter(func() control.Status { return st }, "1.2.3")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("text", func(b *testing.B) {
		loop(b, func() {
			if err := e.WriteText(io.Discard); err != nil {
				b.Fatal(err)
			}
		})
	})
	s := e.scraper(slog.New(slog.DiscardHandler), scrapeTimeout)
	for _, enc := range []string{"identity", "gzip"} {
		b.Run("http-"+enc, func(b *testing.B) {
			loop(b, func() {
				if err := s.scrape(context.Background(), enc == "gzip", false, true, io.Discard); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// cpuTime is the CPU time the process has used, in user and system mode: unlike the
// wall time, it stays true on a machine busy with other work.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times and reports the CPU time per run beside the wall time.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
}
