package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestMethodsEliminated: built with the tags it ships with, nothing in vrrpd calls a
// method by a name known only at run time, so that the linker drops the exported
// methods nothing calls. One such call (text/template's, through gRPC's tracing)
// costs 5.8 MB of binary and 3.3 MB of resident memory. The Makefile and the tests
// build with the same tags.
func TestMethodsEliminated(t *testing.T) {
	if testing.Short() {
		t.Skip("links vrrpd")
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TAGS\s*\?=\s*(.*)$`).FindSubmatch(mk)
	if m == nil || strings.TrimSpace(string(m[1])) != netnstest.BuildTags {
		t.Fatalf("the Makefile's TAGS %q, netnstest.BuildTags %q: keep them the same", m, netnstest.BuildTags)
	}
	out, err := exec.Command("go", "build", "-tags", netnstest.BuildTags, "-ldflags=-dumpdep",
		"-o", filepath.Join(t.TempDir(), "vrrpd"), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "<ReflectMethod>") {
			t.Errorf("the linker keeps every exported method: %s", strings.TrimSpace(line))
		}
	}
}
