package interop

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// defaultParallel is how many cells run at once unless -parallel says otherwise. Cells
// mostly wait on protocol timers, so more of them than cores fit: at 8, a 2-core machine
// keeps every takeover within its bounds.
const defaultParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", fmt.Sprint(defaultParallel))
	}
	code := m.Run()
	vrrpd.Remove()
	os.Exit(code)
}

// vrrpd is the binary under test, built once for the whole suite.
var vrrpd netnstest.Vrrpd

func vrrpdBinary(t *testing.T) string { return vrrpd.Path(t) }
