package netnstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BuildTags are the build tags vrrpd ships with, as the Makefile's TAGS: grpcnotrace
// leaves out gRPC's request tracing, which GoBGP's server would bring in with
// html/template, whose reflective method calls make the linker keep every exported
// method of every type (about 6 MB of binary and 3 MB of resident memory).
const BuildTags = "grpcnotrace"

// Vrrpd builds the vrrpd and vrrpd-bgp binaries, with the race detector unless Plain,
// once per test binary. A test package that uses it calls Remove from its TestMain after m.Run.
type Vrrpd struct {
	// Plain builds the binaries as shipped, for tests that measure time or memory.
	Plain bool

	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the binary, building it on first use.
func (v *Vrrpd) Path(t testing.TB) string {
	t.Helper()
	v.once.Do(func() {
		v.dir, v.err = os.MkdirTemp("", "vrrpd-test")
		if v.err != nil {
			return
		}
		v.path = filepath.Join(v.dir, "vrrpd")
		// vrrpd-bgp beside it, where vrrpd looks first.
		for _, cmd := range []string{"vrrpd", "vrrpd-bgp"} {
			args := []string{"build", "-race"}
			if v.Plain {
				args = []string{"build", "-trimpath", "-ldflags=-s -w"} // as the packages ship it
			}
			args = append(args, "-tags", BuildTags, "-o", filepath.Join(v.dir, cmd), "github.com/vrrpd/vrrpd/cmd/"+cmd)
			build := exec.Command("go", args...)
			if v.Plain {
				build.Env = append(os.Environ(), "CGO_ENABLED=0")
			}
			if out, err := build.CombinedOutput(); err != nil {
				v.err = fmt.Errorf("go build %s: %v\n%s", cmd, err, out)
				return
			}
		}
	})
	if v.err != nil {
		t.Fatal(v.err)
	}
	return v.path
}

// Remove deletes the binary, if it was built.
func (v *Vrrpd) Remove() {
	if v.dir != "" {
		os.RemoveAll(v.dir)
	}
}

// Buffer collects a process's output while a test reads it; safe for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
