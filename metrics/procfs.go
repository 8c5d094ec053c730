package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The few numbers of /proc the process_* families need, read as client_golang's
// process collector (through the procfs module) reads them, without the module: its
// parsers of every file of /proc are more than a daemon wants linked in.

// userHZ is the unit of the times of /proc/self/stat: the kernel reports them in
// USER_HZ ticks, 100 a second on every architecture Linux runs Go on.
const userHZ = 100

// procStat is what the process_* families take from /proc/self/stat.
type procStat struct {
	cpuSeconds float64 // user and system time
	vsize      float64 // bytes
	rss        float64 // bytes
	start      float64 // seconds since the epoch
}

// readProcStat reads /proc/self/stat, and /proc/stat for the boot time its start time
// counts from.
func readProcStat() (procStat, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("process stat: %w", err)
	}
	s, starttime, err := parseProcStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("process stat: %w", err)
	}
	boot, err := bootTime()
	if err != nil {
		return procStat{}, fmt.Errorf("process start time: %w", err)
	}
	s.start = float64(boot) + float64(starttime)/userHZ
	return s, nil
}

// parseProcStat parses the text of /proc/PID/stat, with the start time in ticks since
// boot left to the caller.
func parseProcStat(b []byte) (procStat, uint64, error) {
	// The command name, in parentheses, may hold spaces and parentheses of its own:
	// the fields that follow start after the last ')'.
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return procStat{}, 0, errors.New("no command name")
	}
	// fields[0] is the third field of proc(5), the state.
	fields := strings.Fields(string(b[end+1:]))
	const (
		utime     = 14 - 3
		stime     = 15 - 3
		starttime = 22 - 3
		vsize     = 23 - 3
		rss       = 24 - 3
	)
	if len(fields) <= rss {
		return procStat{}, 0, fmt.Errorf("%d fields", len(fields)+2)
	}
	var n [rss + 1]uint64
	for _, i := range []int{utime, stime, starttime, vsize, rss} {
		v, err := strconv.ParseUint(fields[i], 10, 64)
		if err != nil {
			return procStat{}, 0, fmt.Errorf("field %d: %w", i+3, err)
		}
		n[i] = v
	}
	return procStat{
		cpuSeconds: float64(n[utime]+n[stime]) / userHZ,
		vsize:      float64(n[vsize]),
		rss:        float64(n[rss] * uint64(os.Getpagesize())),
	}, n[starttime], nil
}

// bootTime is the btime of /proc/stat, read once: it does not change while the
// system runs, and /proc/stat is long on a machine of many processors.
var bootTime = sync.OnceValues(func() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseBootTime(b)
})

func parseBootTime(b []byte) (uint64, error) {
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("no btime in /proc/stat")
}

// openFDs counts the process's open file descriptors: the size of /proc/self/fd
// where the kernel gives it (Linux 6.2 and later), or its entries.
func openFDs() (int, error) {
	fi, err := os.Stat("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	if fi.Size() > 0 {
		return int(fi.Size()), nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	return len(names), nil
}

// procLimits are the soft limits the process_* families report.
type procLimits struct {
	openFiles, addressSpace float64
}

func readLimits() (procLimits, error) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return procLimits{}, fmt.Errorf("limits: %w", err)
	}
	l, err := parseLimits(b)
	if err != nil {
		return procLimits{}, fmt.Errorf("limits: %w", err)
	}
	return l, nil
}

// parseLimits parses the text of /proc/PID/limits: a header, then a line of each
// limit, its name, soft limit, hard limit and unit in columns.
func parseLimits(b []byte) (procLimits, error) {
	var l procLimits
	found := 0
	for line := range strings.Lines(string(b)) {
		var to *float64
		rest, ok := strings.CutPrefix(line, "Max open files ")
		if ok {
			to = &l.openFiles
		} else if rest, ok = strings.CutPrefix(line, "Max address space "); ok {
			to = &l.addressSpace
		} else {
			continue
		}
		soft, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		v, err := parseLimit(soft)
		if err != nil {
			return procLimits{}, fmt.Errorf("%q: %w", strings.TrimSpace(line), err)
		}
		*to = v
		found++
	}
	if found != 2 {
		return procLimits{}, errors.New("no open files or address space limit")
	}
	return l, nil
}

// parseLimit reads a limit, "unlimited" as the largest uint64, as procfs has it.
func parseLimit(s string) (float64, error) {
	if s == "unlimited" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return float64(v), err
}

// netBytes are the bytes the process's network namespace received and sent over IP.
type netBytes struct {
	in, out float64
}

func readNetstat() (netBytes, error) {
	b, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		return netBytes{}, fmt.Errorf("network: %w", err)
	}
	n, err := parseNetstat(b)
	if err != nil {
		return netBytes{}, fmt.Errorf("network: %w", err)
	}
	return n, nil
}

// parseNetstat takes InOctets and OutOctets from the IpExt lines of /proc/PID/net/netstat,
// where each protocol has a line of names and a line of values; a value the kernel
// does not report is 0.
func parseNetstat(b []byte) (netBytes, error) {
	var n netBytes
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "IpExt:" {
			continue
		}
		if len(names) != len(values) {
			return netBytes{}, fmt.Errorf("IpExt: %d names, %d values", len(names), len(values))
		}
		for j, name := range names[1:] {
			var to *float64
			switch name {
			case "InOctets":
				to = &n.in
			case "OutOctets":
				to = &n.out
			default:
				continue
			}
			v, err := strconv.ParseFloat(values[j+1], 64)
			if err != nil {
				return netBytes{}, fmt.Errorf("IpExt %s: %w", name, err)
			}
			*to = v
		}
	}
	return n, nil
}
