package metrics

import (
	"math"
	"os"
	"testing"
)

// TestParseProcStat: the fields after a command name of spaces and parentheses.
func TestParseProcStat(t *testing.T) {
	stat := "4242 (vrrpd (a) b) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 125 0 0 20 0 9 0 " +
		"123456 1603219456 2686 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"
	s, start, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{cpuSeconds: 3.75, vsize: 1603219456, rss: float64(2686 * os.Getpagesize())}
	if s != want || start != 123456 {
		t.Errorf("got %+v, start %d; want %+v, start 123456", s, start, want)
	}
	for _, bad := range []string{"4242 vrrpd S 1", "4242 (vrrpd) S 1 2 3", "4242 (vrrpd) S 1 4242 4242 0 -1 4194560 1200 0 0 0 x 125 0 0 20 0 9 0 1 2 3"} {
		if _, _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseBootTime(t *testing.T) {
	b, err := parseBootTime([]byte("cpu  1 2 3\nintr 5 6\nctxt 7\nbtime 1795000000\nprocesses 9\n"))
	if err != nil || b != 1795000000 {
		t.Errorf("%d, %v", b, err)
	}
	if _, err := parseBootTime([]byte("cpu  1 2 3\n")); err == nil {
		t.Error("no btime: no error")
	}
}

// TestParseLimits: the soft limits, unlimited as the largest uint64.
func TestParseLimits(t *testing.T) {
	limits := `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            20000                524288               files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
`
	l, err := parseLimits([]byte(limits))
	if err != nil {
		t.Fatal(err)
	}
	if want := (procLimits{openFiles: 20000, addressSpace: math.MaxUint64}); l != want {
		t.Errorf("%+v, want %+v", l, want)
	}
	if _, err := parseLimits([]byte("Limit Soft Limit Hard Limit Units\nMax open files  many  many  files\nMax address space  1 1 bytes\n")); err == nil {
		t.Error("a limit that is no number: no error")
	}
}

// TestParseNetstat: IpExt's octets, 0 where the kernel has none.
func TestParseNetstat(t *testing.T) {
	netstat := "TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n" +
		"IpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 389516604 3323753\n" +
		"MPTcpExt: MPCapableSYNRX\nMPTcpExt: 0\n"
	n, err := parseNetstat([]byte(netstat))
	if err != nil || n != (netBytes{in: 389516604, out: 3323753}) {
		t.Errorf("%+v, %v", n, err)
	}
	n, err = parseNetstat([]byte("TcpExt: SyncookiesSent\nTcpExt: 0\n"))
	if err != nil || n != (netBytes{}) {
		t.Errorf("without IpExt: %+v, %v", n, err)
	}
	if _, err := parseNetstat([]byte("IpExt: InOctets OutOctets\nIpExt: 1\n")); err == nil {
		t.Error("a value missing: no error")
	}
}
