package daemon

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/tracker"
)

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

// TestControlSocketGroup: the socket goes to socket_group when the group exists, and
// stays the daemon's own when it does not (the default group on a machine without it).
func TestControlSocketGroup(t *testing.T) {
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
			n := newNodeWith(t, newLAN(t), "a", "192.0.2.1", func(c *config.Config) {
				c.SocketGroup = tt.group
				c.Instances = []config.Instance{instanceCfg("web", 100, "192.0.2.100/24")}
			}, tracker.Env{})
			sock := filepath.Join(t.TempDir(), "vrrpd.sock")
			srv, err := Listen(n.d, sock)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
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
