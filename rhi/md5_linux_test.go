package rhi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// TestRouteHealthInjectionMD5, against BIRD and FRR with TCP MD5 on both sessions: n1
// has the router's password and is established; n2 has another, is not, and its
// status says why; a reload with the right password brings it up.
func TestRouteHealthInjectionMD5(t *testing.T) {
	eachRouter(t, func(t *testing.T, kind string) {
		l := newLab(t, kind, 2)
		n1, n2 := l.nodes[0], l.nodes[1]
		l.startRouter(routerOpts{hold: 9, passwords: map[string]string{"n1": "n1-s3cret", "n2": "n2-s3cret"}})
		n1.password, n2.password = "n1-s3cret", "not-the-routers"
		l.startNode(n1)
		l.startNode(n2)
		if hops := l.waitNexthops(svc4, 1, 20*time.Second); !slices.Equal(l.nexthops(svc4), []string{n1.addr4}) {
			t.Fatalf("next hops %v at %v, want n1's alone", l.nexthops(svc4), hops)
		}
		var p = n2.peer()
		netnstest.Eventually(t, 15*time.Second, func() bool {
			p = n2.peer()
			return p.LastError != ""
		}, "n2's session has no last error: %+v", n2.peer())
		t.Logf("%s: n2 with a wrong password: %s: %s", kind, p.State, p.LastError)
		if p.State == "established" || !strings.Contains(p.LastError, "TCP MD5") {
			t.Errorf("n2 with a wrong password: %+v, want not established and a last error that names TCP MD5", p)
		}
		if len(l.nexthops(svc4)) != 1 {
			t.Errorf("next hops %v with n2's password wrong", l.nexthops(svc4))
		}
		show, err := exec.Command(vrrpd.Path(t), "show", "--socket", filepath.Join(n2.dir, "vrrpd.sock")).Output()
		if err != nil || !strings.Contains(string(show), "last error: failed to connect") || !strings.Contains(string(show), "TCP MD5") {
			t.Errorf("vrrpd show on n2 (%v):\n%s", err, show)
		}

		n2.password = "n2-s3cret"
		if err := os.WriteFile(filepath.Join(n2.dir, "vrrpd.yaml"), []byte(l.config(n2)), 0o644); err != nil {
			t.Fatal(err)
		}
		n2.signal(syscall.SIGHUP)
		l.waitNexthops(svc4, 2, 20*time.Second)
		if p := n2.peer(); p.State != "established" {
			t.Errorf("n2 after the reload with the right password: %+v", p)
		}
	})
}
