package metrics

import "os"

// processSample is what a scrape read of the process in /proc: each part with the
// error that kept it out, whose families are then left out of the scrape, as
// client_golang's process collector leaves them out.
type processSample struct {
	stat      procStat
	statErr   error
	fds       int
	fdsErr    error
	limits    procLimits
	limitsErr error
	net       netBytes
	netErr    error
}

// readProcess reads the process's figures, or nothing where there is no /proc.
func readProcess() *processSample {
	if _, err := os.Stat("/proc/self"); err != nil {
		return nil
	}
	p := &processSample{}
	p.stat, p.statErr = readProcStat()
	p.fds, p.fdsErr = openFDs()
	p.limits, p.limitsErr = readLimits()
	p.net, p.netErr = readNetstat()
	return p
}

// errs are the parts of the process that could not be read.
func (p *processSample) errs() []error {
	var out []error
	for _, err := range []error{p.statErr, p.fdsErr, p.limitsErr, p.netErr} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// processFamilies are the families of client_golang's process collector on Linux,
// with its names, HELP texts and types.
func processFamilies() []*family {
	stat := func(value func(s *procStat) float64) func(p *processSample) (float64, bool) {
		return func(p *processSample) (float64, bool) { return value(&p.stat), p.statErr == nil }
	}
	limit := func(value func(l *procLimits) float64) func(p *processSample) (float64, bool) {
		return func(p *processSample) (float64, bool) { return value(&p.limits), p.limitsErr == nil }
	}
	network := func(value func(n *netBytes) float64) func(p *processSample) (float64, bool) {
		return func(p *processSample) (float64, bool) { return value(&p.net), p.netErr == nil }
	}
	return []*family{
		perProcess("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", counter,
			stat(func(s *procStat) float64 { return s.cpuSeconds })),
		perProcess("process_open_fds", "Number of open file descriptors.", gauge,
			func(p *processSample) (float64, bool) { return float64(p.fds), p.fdsErr == nil }),
		perProcess("process_max_fds", "Maximum number of open file descriptors.", gauge,
			limit(func(l *procLimits) float64 { return l.openFiles })),
		perProcess("process_virtual_memory_bytes", "Virtual memory size in bytes.", gauge,
			stat(func(s *procStat) float64 { return s.vsize })),
		perProcess("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", gauge,
			limit(func(l *procLimits) float64 { return l.addressSpace })),
		perProcess("process_resident_memory_bytes", "Resident memory size in bytes.", gauge,
			stat(func(s *procStat) float64 { return s.rss })),
		perProcess("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", gauge,
			stat(func(s *procStat) float64 { return s.start })),
		perProcess("process_network_receive_bytes_total", "Number of bytes received by the process over the network.", counter,
			network(func(n *netBytes) float64 { return n.in })),
		perProcess("process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", counter,
			network(func(n *netBytes) float64 { return n.out })),
	}
}

// perProcess is a family of one sample without labels, of the process as the scrape
// read it; a view without a reading of the process, as vrrpd metrics prints, has none.
func perProcess(name, help, kind string, value func(p *processSample) (float64, bool)) *family {
	return newFamily(name, help, kind, func(t *textWriter, f *family, v *view) {
		if v.proc == nil {
			return
		}
		if x, ok := value(v.proc); ok {
			t.begin(f)
			t.value(x)
		}
	})
}
