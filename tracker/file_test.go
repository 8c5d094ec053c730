package tracker

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestParseValue: numbers read as keepalived's strtol(buf, NULL, 0) reads them.
func TestParseValue(t *testing.T) {
	tests := []struct {
		in     string
		v      int
		digits int
		rest   string
	}{
		{"5", 5, 1, ""},
		{"-1000\n", -1000, 4, ""},
		{"  +7 ", 7, 1, ""},
		{"\t\n-3", -3, 1, ""},
		{"0x1f", 31, 2, ""},
		{"-0X10", -16, 2, ""},
		{"010", 8, 3, ""}, // octal, as strtol with base 0
		{"09", 0, 1, "9"},
		{"0x", 0, 1, "x"},
		{"12abc", 12, 2, "abc"},
		{"abc", 0, 0, "abc"},
		{"", 0, 0, ""},
		{"-", 0, 0, ""},
		{"99999999999999999999999", 1 << 32, 23, ""},
		{"-99999999999999999999999", -(1 << 32), 23, ""},
	}
	for _, tt := range tests {
		v, digits, rest := parseValue(tt.in)
		if v != tt.v || digits != tt.digits || rest != tt.rest {
			t.Errorf("parseValue(%q) = %d, %d, %q; want %d, %d, %q", tt.in, v, digits, rest, tt.v, tt.digits, tt.rest)
		}
	}
}

func TestReadValue(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content string // "" with missing: no file
		missing bool
		v       int
		detail  string
	}{
		{missing: true, v: 0, detail: "0 (no file)"},
		{content: "", v: 0, detail: "0 (empty file)"},
		{content: "\n", v: 0, detail: "0 (empty file)"},
		{content: "-50\n", v: -50, detail: "-50"},
		{content: "-1000\n", v: -254, detail: "-254 (the file says -1000, kept within -254..254)"},
		{content: "300", v: 254, detail: "254 (the file says 300, kept within -254..254)"},
		{content: "drain\n", v: 0, detail: `0 (no number in "drain")`},
		{content: "5 # weight\n", v: 5, detail: `5 ("# weight" ignored)`},
	}
	for i, tt := range tests {
		path := filepath.Join(dir, "f"+string(rune('a'+i)))
		if !tt.missing {
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		v, detail := readValue(path)
		if v != tt.v || detail != tt.detail {
			t.Errorf("%q: %d %q, want %d %q", tt.content, v, detail, tt.v, tt.detail)
		}
	}
}

// TestFileTracker: the maintenance switch. Writing the file in place, renaming a new
// file over it and removing it are all seen, through inotify.
func TestFileTracker(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "drain")
	cfg := parseConfig(t, `
files:
  drain: {path: `+path+`}
instances:
  - {name: web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24], track: {files: [drain]}}
`, nil)
	s, err := NewSet(cfg, Env{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	if st := statusOf(s, KindFile, "drain"); st.State != OK || st.Value != 0 || st.Detail != "0 (no file)" {
		t.Fatalf("at start: %+v", st)
	}
	if up := nextUpdate(t, s); up.Priority.Explanation != "priority 150" {
		t.Fatalf("first update %+v", up.Priority)
	}
	expect := func(explanation string) {
		t.Helper()
		up := nextUpdate(t, s)
		if up.Priority.Explanation != explanation {
			t.Fatalf("update %q, want %q", up.Priority.Explanation, explanation)
		}
	}

	// echo -1000 > drain
	if err := os.WriteFile(path, []byte("-1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("FAULT: drain = -254 (-254 or less); priority 150")
	// An editor writes a new file and renames it over.
	if err := os.WriteFile(path+".tmp", []byte("-60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	expect("priority 150 -> 90: drain = -60 (-60)")
	// Another file in the directory changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("-100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	expect("priority 150")
	if st := statusOf(s, KindFile, "drain"); st.Value != 0 || st.Detail != "0 (no file)" {
		t.Errorf("after removal: %+v", st)
	}
}

func TestNewSetFileDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "drain")
	cfg := parseConfig(t, `
files:
  drain: {path: `+path+`}
instances:
  - {name: web, interface: eth0, vrid: 51, vips: [192.0.2.100/24], track: {files: [drain]}}
`, nil)
	if _, err := NewSet(cfg, Env{}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewSet: %v, want the directory missing", err)
	}
}

// TestRouteTrackers: trackers that only a route's condition names run too, and every
// change of their status is signalled on Changes, with no instance to update; a reload
// that drops the route stops them.
func TestRouteTrackers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "maint")
	bgp := `
bgp:
  asn: 65010
  router_id: 192.0.2.11
  peers: [{address: 192.0.2.1, asn: 65000}]
  routes:
    - {name: web, prefixes: [198.51.100.10/32], when: files:maint}
`
	cfg := parseConfig(t, "files:\n  maint: {path: "+path+"}\n"+bgp, nil)
	s, err := NewSet(cfg, Env{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Close()
	if st := statusOf(s, KindFile, "maint"); st.State != OK || st.Detail != "0 (no file)" {
		t.Fatalf("at start: %+v", st)
	}
	drain := func() {
		for {
			select {
			case <-s.Changes():
			default:
				return
			}
		}
	}
	drain()
	if err := os.WriteFile(path, []byte("-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled after the file changed")
	}
	eventually(t, func() bool { return statusOf(s, KindFile, "maint").Value == -1 }, "the file's number read")

	if err := s.Reconfigure(parseConfig(t, "files:\n  maint: {path: "+path+"}\n"+
		"instances:\n  - {name: v, interface: eth0, vrid: 1, vips: [192.0.2.100/24]}\n", nil)); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); len(st) != 0 {
		t.Fatalf("after the route is gone: %+v", st)
	}
}
