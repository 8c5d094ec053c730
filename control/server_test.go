package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeSource is a daemon with a fixed status and the events a test sends it.
type fakeSource struct {
	st     Status
	events chan Event
	subs   chan struct{} // receives when a client subscribes
}

func newFakeSource() *fakeSource {
	return &fakeSource{
		st:     Status{Node: "lb1", Instances: []InstanceStatus{{Name: "web", State: "MASTER", VRID: 51}}},
		events: make(chan Event),
		subs:   make(chan struct{}, 1),
	}
}

func (f *fakeSource) Status() Status { return f.st }

func (f *fakeSource) Events() (<-chan Event, func()) {
	f.subs <- struct{}{}
	return f.events, func() {}
}

// socketPath returns a path for a socket in a short directory: a unix socket's path is
// limited to 107 bytes.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}

func listen(t *testing.T, src Source, opts Options) string {
	t.Helper()
	path := socketPath(t)
	srv, err := Listen(path, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return path
}

func TestShowAndEvents(t *testing.T) {
	src := newFakeSource()
	path := listen(t, src, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := QueryStatus(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "lb1" || len(st.Instances) != 1 || st.Instances[0].Name != "web" {
		t.Fatalf("status %+v", st)
	}

	got := make(chan Event, 1)
	done := make(chan error, 1)
	go func() {
		done <- FollowEvents(ctx, path, func(e Event, raw json.RawMessage) error {
			if !strings.Contains(string(raw), `"to":"BACKUP"`) {
				t.Errorf("raw event %s", raw)
			}
			got <- e
			return io.EOF // the first event is enough
		})
	}()
	select {
	case <-src.subs:
	case <-ctx.Done():
		t.Fatal("no subscription")
	}
	src.events <- Event{Type: "transition", Instance: "web", From: "MASTER", To: "BACKUP"}
	if e := <-got; e.Instance != "web" || e.To != "BACKUP" {
		t.Fatalf("event %+v", e)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("FollowEvents returned %v, want fn's error", err)
	}
}

// TestFollowEventsEndsWithContext: cancelling the context ends FollowEvents with nil.
func TestFollowEventsEndsWithContext(t *testing.T) {
	src := newFakeSource()
	path := listen(t, src, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- FollowEvents(ctx, path, func(Event, json.RawMessage) error { return nil }) }()
	<-src.subs
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("FollowEvents: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FollowEvents did not end with its context")
	}
}

func TestMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const text = "# TYPE vrrpd_up gauge\nvrrpd_up 1\n"
	tests := []struct {
		name    string
		metrics func(io.Writer) error
		want    string
		wantErr string
	}{
		{"served", func(w io.Writer) error { _, err := io.WriteString(w, text); return err }, text, ""},
		{"not served", nil, "", "this daemon serves no metrics"},
		{"failing", func(io.Writer) error { return errors.New("collector broke") }, "", "metrics: collector broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := listen(t, newFakeSource(), Options{Metrics: tt.metrics})
			got, err := QueryMetrics(ctx, path)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrDaemon) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrDaemon with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("metrics %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestBadRequest: a request the server does not understand is answered with an error,
// which the client reports as the daemon's.
func TestBadRequest(t *testing.T) {
	path := listen(t, newFakeSource(), Options{})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, `{"command":"stop"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	var st Status
	_, err = decodeReply(json.NewDecoder(c), &st)
	if !errors.Is(err, ErrDaemon) || !strings.Contains(err.Error(), `unknown command "stop"`) {
		t.Fatalf("reply: %v", err)
	}
}

// TestListenSocketPath: a live socket is refused, a dead one replaced, and anything
// else at the path left alone.
func TestListenSocketPath(t *testing.T) {
	path := listen(t, newFakeSource(), Options{})
	if _, err := Listen(path, newFakeSource(), Options{}); !errors.Is(err, ErrRunning) {
		t.Fatalf("a second server on a live socket: %v, want ErrRunning", err)
	}

	dead := socketPath(t)
	ln, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	srv, err := Listen(dead, newFakeSource(), Options{})
	if err != nil {
		t.Fatalf("a dead socket was not replaced: %v", err)
	}
	srv.Close()

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file, newFakeSource(), Options{}); err == nil || !strings.Contains(err.Error(), "something other than a socket") {
		t.Fatalf("a file at the path: %v", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the file was touched: %q, %v", b, err)
	}
}

// otherGroup returns a group other than the process's own that it may give a file to:
// any group as root, one of its supplementary groups otherwise.
func otherGroup(t *testing.T) *user.Group {
	t.Helper()
	var candidates []string
	if os.Geteuid() == 0 {
		candidates = []string{"nogroup", "daemon", "adm", "users"}
	} else {
		gids, err := os.Getgroups()
		if err != nil {
			t.Fatal(err)
		}
		for _, gid := range gids {
			candidates = append(candidates, strconv.Itoa(gid))
		}
	}
	for _, c := range candidates {
		g, err := user.LookupGroup(c)
		if err != nil {
			g, err = user.LookupGroupId(c)
		}
		if err == nil && g.Gid != strconv.Itoa(os.Getegid()) {
			return g
		}
	}
	t.Skip("no group other than the process's own that it may give a file to (root has one)")
	return nil
}

// TestSocketGroup: the socket goes to the group when it exists, and stays the
// creator's own when it does not (the default group on a machine without it).
func TestSocketGroup(t *testing.T) {
	other := otherGroup(t)
	own := strconv.Itoa(os.Getegid())
	tests := []struct {
		name    string
		group   string
		wantGid string
	}{
		{"group exists", other.Name, other.Gid},
		{"no such group", "vrrpd-no-such-group", own},
		{"not set", "", own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := listen(t, newFakeSource(), Options{Group: tt.group})
			fi, err := os.Stat(sock)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o660 {
				t.Errorf("mode %v, want 0660", fi.Mode().Perm())
			}
			if gid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)); gid != tt.wantGid {
				t.Errorf("socket gid %s, want %s", gid, tt.wantGid)
			}
		})
	}
}
