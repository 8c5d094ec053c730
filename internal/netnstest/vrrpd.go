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

// Vrrpd builds the vrrpd binary, with the race detector, once per test binary. A test
// package that uses it calls RemoveVrrpd from its TestMain after m.Run.
type Vrrpd struct {
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
		out, err := exec.Command("go", "build", "-race", "-o", v.path, "github.com/vrrpd/vrrpd/cmd/vrrpd").CombinedOutput()
		if err != nil {
			v.err = fmt.Errorf("go build: %v\n%s", err, out)
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
