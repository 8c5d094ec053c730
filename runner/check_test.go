package runner

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestCheck: keepalived's enable_script_security, always on. Files and directories get
// other owners, so the test needs root.
func TestCheck(t *testing.T) {
	netnstest.RequireRoot(t, "give test files other owners")
	root := &User{Name: "root"}
	svc := &User{Name: "svc", UID: 4242, GID: 4242}
	dir := t.TempDir()
	mk := func(rel string, mode fs.FileMode, uid, gid int) {
		t.Helper()
		p := filepath.Join(dir, rel)
		var err error
		if mode.IsDir() {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o600)
		}
		if err == nil {
			err = os.Chown(p, uid, gid)
		}
		if err == nil {
			err = os.Chmod(p, mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	link := func(rel, target string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	mk("ok", fs.ModeDir|0o755, 0, 0)
	mk("ok/check", 0o755, 0, 0)
	mk("ok/group-root", 0o775, 0, 0)
	mk("ok/group-svc", 0o775, 0, 4242)
	mk("ok/world", 0o757, 0, 0)
	mk("ok/svc", 0o755, 4242, 4242)
	mk("ok/other", 0o755, 4343, 4343)
	mk("ok/plain", 0o644, 0, 0)
	mk("ok/setuid", fs.ModeSetuid|0o755, 0, 0)
	link("ok/link-ok", "check")
	link("ok/link-world", "world")
	mk("svcdir", fs.ModeDir|0o755, 4242, 4242)
	mk("svcdir/check", 0o755, 0, 0)
	mk("svcdir/setuid", fs.ModeSetuid|0o755, 0, 0)
	mk("shared", fs.ModeDir|0o775, 0, 4242)
	mk("shared/check", 0o755, 0, 0)
	mk("open", fs.ModeDir|0o777, 0, 0)
	mk("open/check", 0o755, 0, 0)
	mk("sticky", fs.ModeDir|fs.ModeSticky|0o777, 0, 0)
	mk("sticky/check", 0o755, 0, 0)

	tests := []struct {
		name, path string
		user       *User
		err        string // "" for none; a part of the error otherwise
		insecure   bool
	}{
		{"secure", "ok/check", root, "", false},
		{"group-writable by root's group", "ok/group-root", root, "", false},
		{"group-writable", "ok/group-svc", root, "ok/group-svc is writable by group 4242", true},
		{"world-writable", "ok/world", root, "ok/world is writable by everyone", true},
		{"owned by a user", "ok/svc", root, "ok/svc is owned by uid 4242", true},
		{"directory owned by a user", "svcdir/check", root, "svcdir is owned by uid 4242", true},
		{"directory group-writable", "shared/check", root, "shared is writable by group 4242", true},
		{"directory world-writable", "open/check", root, "open is writable by everyone", true},
		{"sticky directory", "sticky/check", root, "", false},
		{"the script user's own file", "ok/svc", svc, "", false},
		{"the script user's own directory", "svcdir/check", svc, "", false},
		{"another user's file", "ok/other", svc, "ok/other is owned by uid 4343", true},
		{"world-writable for a user too", "ok/world", svc, "writable by everyone", true},
		{"set-user-ID root runs as root", "svcdir/setuid", svc, "svcdir is owned by uid 4242", true},
		{"link to a secure file", "ok/link-ok", root, "", false},
		{"link to an insecure file", "ok/link-world", root, "ok/world is writable by everyone", true},
		{"not executable", "ok/plain", root, "not executable", false},
		{"missing", "ok/missing", root, "no such file", false},
		{"a directory", "ok", root, "not a regular file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(filepath.Join(dir, tt.path), tt.user)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err == "":
				return
			case err == nil:
				t.Fatalf("accepted, want %q", tt.err)
			case !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), filepath.Join(dir, tt.path)+": "):
				t.Fatalf("error %q, want it to name the script and say %q", err, tt.err)
			case errors.Is(err, ErrInsecure) != tt.insecure:
				t.Fatalf("errors.Is(%v, ErrInsecure) = %v", err, !tt.insecure)
			}
		})
	}
	if err := Check(filepath.Join(dir, "ok/world"), root); !strings.Contains(err.Error(), "runs as root") {
		t.Errorf("error %q does not say who runs it", err)
	}
}
