package interop

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
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
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// vrrpdBinary builds the vrrpd binary with the race detector, once per test binary, as
// cmd/vrrpd's end-to-end tests do.
func vrrpdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vrrpd-interop")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "vrrpd")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, "github.com/vrrpd/vrrpd/cmd/vrrpd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
