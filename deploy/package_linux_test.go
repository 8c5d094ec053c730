package deploy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// The packaging tests build the .deb and the .rpm with `make deb rpm`, as a user does,
// read them with dpkg-deb, lintian and rpm, and install the .deb in a Debian root.

// testRoot is the Debian root the .deb is installed into, made once by
// package/test-root.sh and reused: the tests install into overlays over it.
const testRoot = "/var/cache/vrrpd-test-root"

// built holds the packages, built once for every test of this binary.
var built struct {
	once     sync.Once
	dir      string
	deb, rpm string
	oldDeb   string // an older version, to upgrade from
	version  string // what `vrrpd version` of deb and rpm prints
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// packages builds the packages on first use, in a directory of their own.
func packages(t *testing.T) (deb, rpm, oldDeb string) {
	t.Helper()
	for _, c := range []string{"make", "go-md2man"} {
		netnstest.RequireCommand(t, c)
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "vrrpd-pkg")
		if built.err != nil {
			return
		}
		make := func(args ...string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "make", append([]string{"-C", ".."}, args...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("make %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		start := time.Now()
		if built.err = make("deb", "rpm", "DIST="+filepath.Join(built.dir, "new")); built.err != nil {
			return
		}
		if built.err = make("deb", "DIST="+filepath.Join(built.dir, "old"), "PKG_VERSION=0.0.0~old", "VERSION=old-test"); built.err != nil {
			return
		}
		fmt.Printf("packages built in %.1f s\n", time.Since(start).Seconds())
		out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
		if err != nil {
			built.err = fmt.Errorf("git describe: %v", err)
			return
		}
		built.version = strings.TrimSpace(string(out))
		glob := func(pattern string) string {
			m, _ := filepath.Glob(filepath.Join(built.dir, pattern))
			if len(m) != 1 {
				built.err = fmt.Errorf("%s: found %v, want one package", pattern, m)
				return ""
			}
			return m[0]
		}
		built.deb, built.rpm, built.oldDeb = glob("new/vrrpd_*.deb"), glob("new/vrrpd-*.rpm"), glob("old/vrrpd_*.deb")
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.deb, built.rpm, built.oldDeb
}

// wantFiles are the files both packages install, with their modes; deb and rpm add
// their own below.
var wantFiles = map[string]string{
	"/usr/sbin/vrrpd":                                     "-rwxr-xr-x",
	"/usr/libexec/vrrpd/vrrpd-bgp":                        "-rwxr-xr-x",
	"/usr/lib/systemd/system/vrrpd.service":               "-rw-r--r--",
	"/usr/lib/sysusers.d/vrrpd.conf":                      "-rw-r--r--",
	"/etc/vrrpd":                                          "drwxr-xr-x",
	"/etc/vrrpd/vrrpd.yaml.example":                       "-rw-r--r--",
	"/usr/share/man/man8/vrrpd.8.gz":                      "-rw-r--r--",
	"/usr/share/man/man5/vrrpd.yaml.5.gz":                 "-rw-r--r--",
	"/usr/share/bash-completion/completions/vrrpd":        "-rw-r--r--",
	"/usr/share/doc/vrrpd/copyright":                      "-rw-r--r--",
	"/usr/share/doc/vrrpd/examples/haproxy-pair/lb1.yaml": "-rw-r--r--",
	"/usr/share/doc/vrrpd/examples/unicast/lb2.yaml":      "-rw-r--r--",
	"/usr/share/doc/vrrpd/examples/ipv6.yaml":             "-rw-r--r--",
	"/usr/share/doc/vrrpd/prometheus/vrrpd.rules.yml":     "-rw-r--r--",
	"/usr/share/doc/vrrpd/systemd/realtime.conf":          "-rw-r--r--",
}

// docFiles adds every docs/*.md, under /usr/share/doc/vrrpd.
func docFiles(t *testing.T, files map[string]string) {
	t.Helper()
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil || len(docs) < 5 {
		t.Fatalf("docs/*.md: %v %v", docs, err)
	}
	for _, d := range docs {
		files["/usr/share/doc/vrrpd/"+filepath.Base(d)] = "-rw-r--r--"
	}
}

// checkListing compares a package's listing (path -> mode, owner) with want: every file
// there with its mode, owned by root, none writable but by root, and no live config.
func checkListing(t *testing.T, got map[string][2]string, want map[string]string) {
	t.Helper()
	for path, mode := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("%s is missing", path)
			continue
		}
		if g[0] != mode {
			t.Errorf("%s: mode %s, want %s", path, g[0], mode)
		}
	}
	for path, g := range got {
		if g[1] != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", path, g[1])
		}
		if len(g[0]) == 10 && g[0][0] != 'l' && (g[0][5] == 'w' || g[0][8] == 'w') {
			t.Errorf("%s is writable by others than root: %s", path, g[0])
		}
	}
	if _, ok := got["/etc/vrrpd/vrrpd.yaml"]; ok {
		t.Error("the package ships /etc/vrrpd/vrrpd.yaml: it must ship the example only")
	}
}

func TestDebContents(t *testing.T) {
	deb, _, _ := packages(t)
	netnstest.RequireCommand(t, "dpkg-deb")
	out, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	// -rw-r--r-- root/root      1241 2026-11-26 01:20 ./etc/vrrpd/vrrpd.yaml.example
	got := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c: unexpected line %q", line)
		}
		got[strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")] = [2]string{f[0], strings.ReplaceAll(f[1], "0/0", "root/root")}
	}
	want := merge(wantFiles, map[string]string{
		"/usr/share/zsh/vendor-completions/_vrrpd": "-rw-r--r--",
		"/usr/share/doc/vrrpd/changelog.Debian.gz": "-rw-r--r--",
		"/usr/share/lintian/overrides/vrrpd":       "-rw-r--r--",
	})
	docFiles(t, want)
	checkListing(t, got, want)

	conffiles, err := exec.Command("dpkg-deb", "-I", deb, "conffiles").Output()
	if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/vrrpd/vrrpd.yaml.example" {
		t.Errorf("conffiles: %q (%v), want /etc/vrrpd/vrrpd.yaml.example", conffiles, err)
	}
	control, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture").Output()
	if err != nil || !regexp.MustCompile(`(?m)^Package: vrrpd\nVersion: [0-9][^ ]*-1\nArchitecture: \w+$`).Match(control) {
		t.Errorf("control fields:\n%s (%v)", control, err)
	}
}

// TestDebLintian: lintian, at its most pedantic, reports nothing but the overrides the
// package ships, each with its reason.
func TestDebLintian(t *testing.T) {
	deb, _, _ := packages(t)
	netnstest.RequireCommand(t, "lintian")
	out, err := exec.Command("lintian", "--pedantic", "--display-info", "--fail-on", "none", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("lintian: %v\n%s", err, out)
	}
	var tags []string
	for _, line := range strings.Split(string(out), "\n") {
		if regexp.MustCompile(`^[EWIPX]: `).MatchString(line) {
			tags = append(tags, line)
		}
	}
	if len(tags) > 0 {
		t.Errorf("lintian:\n%s", strings.Join(tags, "\n"))
	}
}

func TestRPMContents(t *testing.T) {
	_, rpm, _ := packages(t)
	netnstest.RequireCommand(t, "rpm")
	out, err := exec.Command("rpm", "-qlvp", rpm).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qlvp: %v\n%s", err, out)
	}
	// -rw-r--r--    1 root     root     1241 Nov 26 01:20 /etc/vrrpd/vrrpd.yaml.example
	got := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 {
			t.Fatalf("rpm -qlvp: unexpected line %q", line)
		}
		got[f[len(f)-1]] = [2]string{f[0], f[2] + "/" + f[3]}
	}
	want := merge(wantFiles, map[string]string{
		"/usr/share/zsh/site-functions/_vrrpd": "-rw-r--r--",
		"/usr/share/doc/vrrpd":                 "drwxr-xr-x",
	})
	docFiles(t, want)
	checkListing(t, got, want)

	if out, err := exec.Command("rpm", "-qcp", rpm).Output(); err != nil || strings.TrimSpace(string(out)) != "/etc/vrrpd/vrrpd.yaml.example" {
		t.Errorf("config files: %q (%v), want /etc/vrrpd/vrrpd.yaml.example", out, err)
	}
	scripts, err := exec.Command("rpm", "-qp", "--scripts", rpm).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ scriptlet, file string }{
		{"postinstall scriptlet", "postinst.sh"}, {"preuninstall scriptlet", "prerm.sh"}, {"postuninstall scriptlet", "postrm.sh"},
	} {
		body, err := os.ReadFile(filepath.Join("package", s.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(scripts), s.scriptlet) || !strings.Contains(string(scripts), strings.TrimSpace(string(body))) {
			t.Errorf("the rpm's %s is not %s", s.scriptlet, s.file)
		}
	}
}

func merge(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// debRoot is an overlay over testRoot that a test installs into: what it writes lands
// in its own upper directory, and testRoot stays as it was.
type debRoot struct {
	t                   *testing.T
	upper, work, merged string
}

// newDebRoot makes the cached root if it is missing, and an overlay over it.
func newDebRoot(t *testing.T) *debRoot {
	t.Helper()
	netnstest.RequireRoot(t, "chroot into a Debian root and mount an overlay")
	for _, c := range []string{"debootstrap", "unshare", "chroot"} {
		netnstest.RequireCommand(t, c)
	}
	// Other runs may use the root at the same time; only its making is exclusive.
	lock, err := os.OpenFile(testRoot+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "package/test-root.sh", testRoot).CombinedOutput(); err != nil {
		t.Fatalf("making the Debian root %s: %v\n%s", testRoot, err, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		fmt.Printf("made the Debian root %s in %.0f s; later runs reuse it\n", testRoot, d.Seconds())
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &debRoot{t: t, upper: filepath.Join(dir, "upper"), work: filepath.Join(dir, "work"), merged: filepath.Join(dir, "merged")}
	for _, d := range []string{r.upper, r.work, r.merged, filepath.Join(r.upper, "vrrpd-test")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// put copies a file into the root's /vrrpd-test, with mode.
func (r *debRoot) put(src, name string, mode os.FileMode) string {
	r.t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.write(name, string(b), mode)
}

// write writes a file into the root's /vrrpd-test and returns its path in the root.
func (r *debRoot) write(name, content string, mode os.FileMode) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.upper, "vrrpd-test", name), []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	return "/vrrpd-test/" + name
}

// mountAndChroot runs in a mount namespace of its own, so that its mounts go with it
// however it ends: $1..$4 are the overlay's directories, $5 the script.
const mountAndChroot = `mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
mount -t proc proc "$4/proc"
mount --rbind /dev "$4/dev"
exec chroot "$4" /bin/sh -ec "$5"`

// sh runs script in the root with /bin/sh -e and returns its output.
func (r *debRoot) sh(script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-ec", mountAndChroot, "sh", testRoot, r.upper, r.work, r.merged, script)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "HOME=/root", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs script in the root and fails the test if it fails.
func (r *debRoot) must(script string) string {
	r.t.Helper()
	out, err := r.sh(script)
	if err != nil {
		r.t.Fatalf("in the Debian root: %s: %v\n%s", script, err, out)
	}
	return out
}

// stubSystemctl replaces systemctl with one that records its arguments and says vrrpd
// is active, and makes the scripts believe systemd runs: a chroot has no systemd to
// restart anything, so the record is what shows they never ask it to. It replaces the
// file itself, since apt runs dpkg with a $PATH of its own.
func (r *debRoot) stubSystemctl() {
	r.t.Helper()
	r.write("systemctl", "#!/bin/sh\necho \"$*\" >>/vrrpd-test/systemctl.log\nexit 0\n", 0o755)
	r.must("mkdir -p /run/systemd/system && cp /vrrpd-test/systemctl \"$(command -v systemctl)\" && : >/vrrpd-test/systemctl.log")
}

// systemctlCalls returns what the stub recorded since the last call, and forgets it.
func (r *debRoot) systemctlCalls() []string {
	r.t.Helper()
	path := filepath.Join(r.upper, "vrrpd-test", "systemctl.log")
	b, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		r.t.Fatal(err)
	}
	var calls []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			calls = append(calls, l)
		}
	}
	return calls
}

const enableLink = "/etc/systemd/system/multi-user.target.wants/vrrpd.service"

// TestDebInstall installs the .deb in a fresh Debian root as an operator does (apt
// install ./vrrpd_*.deb), runs what it installed, upgrades it, removes and purges it.
func TestDebInstall(t *testing.T) {
	deb, _, oldDeb := packages(t)
	r := newDebRoot(t)
	start := time.Now()
	r.put(oldDeb, "old.deb", 0o644)
	r.put(deb, "new.deb", 0o644)

	// A first install: accounts, enabled with the real systemctl, not started.
	out := r.must("apt-get install -y -q /vrrpd-test/old.deb")
	if !strings.Contains(out, "vrrpd is installed and enabled") {
		t.Errorf("the first install does not say how to start vrrpd:\n%s", out)
	}
	r.must("getent group vrrpd && getent passwd vrrpd-script")
	if got := strings.TrimSpace(r.must("readlink " + enableLink)); got != "/usr/lib/systemd/system/vrrpd.service" && got != "/lib/systemd/system/vrrpd.service" {
		t.Errorf("%s -> %q: the unit is not enabled", enableLink, got)
	}
	if got := r.must("vrrpd version"); got != "vrrpd old-test\n" {
		t.Errorf("vrrpd version: %q", got)
	}

	// An upgrade while vrrpd runs: systemd is reloaded, vrrpd is not restarted, and the
	// operator is told how to restart it.
	r.stubSystemctl()
	out = r.must("apt-get install -y -q /vrrpd-test/new.deb")
	if !strings.Contains(out, "vrrpd was not restarted") || !strings.Contains(out, "vrrpd show") {
		t.Errorf("the upgrade does not say how to restart vrrpd:\n%s", out)
	}
	calls := r.systemctlCalls()
	if !slices.Contains(calls, "daemon-reload") {
		t.Errorf("the upgrade did not reload systemd: systemctl %q", calls)
	}
	for _, c := range calls {
		if regexp.MustCompile(`\b(restart|try-restart|reload-or-restart|start|stop|enable|disable)\b`).MatchString(c) {
			t.Errorf("the upgrade ran systemctl %s", c)
		}
	}
	if got := r.must("vrrpd version"); got != "vrrpd "+built.version+"\n" {
		t.Errorf("vrrpd version after the upgrade: %q, want vrrpd %s", got, built.version)
	}

	// What the package installed, from the installed paths.
	if got := r.must("vrrpd check --offline /etc/vrrpd/vrrpd.yaml.example"); !strings.Contains(got, "/etc/vrrpd/vrrpd.yaml.example: OK, 1 instances") {
		t.Errorf("vrrpd check --offline on the example: %q", got)
	}
	for page, path := range map[string]string{"vrrpd": "/usr/share/man/man8/vrrpd.8.gz", "5 vrrpd.yaml": "/usr/share/man/man5/vrrpd.yaml.5.gz"} {
		if got := strings.TrimSpace(r.must("man -w " + page)); got != path {
			t.Errorf("man -w %s: %q, want %s", page, got, path)
		}
	}
	for _, cmd := range []string{"MANWIDTH=80 man -P cat vrrpd", "MANWIDTH=80 man -l /usr/share/man/man8/vrrpd.8.gz"} {
		got := r.must(cmd + " 2>&1")
		for _, want := range []string{"VRRP daemon", "vrrpd cleanup", "SIGHUP", "EXIT STATUS", "/etc/vrrpd/vrrpd.yaml"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: no %q in:\n%s", cmd, want, got)
			}
		}
	}
	if got := r.must("MANWIDTH=80 man -P cat 5 vrrpd.yaml 2>&1"); !strings.Contains(got, "socket_group") || !strings.Contains(got, "advert_interval") {
		t.Errorf("man 5 vrrpd.yaml:\n%s", got)
	}

	// A removal stops vrrpd and leaves the configuration; a purge removes it all.
	r.must("dpkg -r vrrpd")
	if calls := r.systemctlCalls(); !slices.Contains(calls, "stop vrrpd.service") {
		t.Errorf("the removal did not stop vrrpd: systemctl %q", calls)
	}
	r.must("test ! -e /usr/sbin/vrrpd && test -f /etc/vrrpd/vrrpd.yaml.example && test -L " + enableLink)
	r.must("dpkg -P vrrpd")
	r.must("test ! -e /etc/vrrpd/vrrpd.yaml.example && test ! -L " + enableLink)
	fmt.Printf("installed, upgraded, removed and purged in the Debian root in %.1f s\n", time.Since(start).Seconds())
}

// TestScripts runs the maintainer scripts as dpkg and rpm call them, each argument
// convention in its turn, in a Debian root with systemd stubbed out.
func TestScripts(t *testing.T) {
	r := newDebRoot(t)
	for _, s := range []string{"postinst.sh", "prerm.sh", "postrm.sh"} {
		r.put(filepath.Join("package", s), s, 0o755)
	}
	r.put(filepath.Join("systemd", "vrrpd.sysusers"), "vrrpd.conf", 0o644)
	r.must("mkdir -p /usr/lib/sysusers.d && cp /vrrpd-test/vrrpd.conf /usr/lib/sysusers.d/")
	r.stubSystemctl()

	tests := []struct {
		name   string
		script string
		calls  []string // systemctl's arguments, in order
		says   string   // a part of the output; "" for no message (postinst) or no output at all
	}{
		{"dpkg first install", "postinst.sh configure ''", []string{"daemon-reload", "enable vrrpd.service"}, "vrrpd is installed and enabled"},
		{"dpkg upgrade", "postinst.sh configure 0.1.0-1", []string{"daemon-reload", "is-active --quiet vrrpd.service"}, "vrrpd was not restarted"},
		{"dpkg abort-upgrade", "postinst.sh abort-upgrade 0.2.0-1", []string{"daemon-reload"}, ""},
		{"dpkg prerm upgrade", "prerm.sh upgrade 0.2.0-1", nil, ""},
		{"dpkg prerm failed-upgrade", "prerm.sh failed-upgrade 0.2.0-1", nil, ""},
		{"dpkg prerm remove", "prerm.sh remove", []string{"stop vrrpd.service"}, ""},
		{"dpkg postrm upgrade", "postrm.sh upgrade 0.2.0-1", nil, ""},
		{"dpkg postrm remove", "postrm.sh remove", []string{"daemon-reload"}, ""},
		{"dpkg postrm purge", "mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sf /usr/lib/systemd/system/vrrpd.service " + enableLink +
			" && /vrrpd-test/postrm.sh purge && test ! -L " + enableLink, []string{"daemon-reload"}, ""},
		{"rpm first install", "postinst.sh 1", []string{"daemon-reload", "enable vrrpd.service"}, "vrrpd is installed and enabled"},
		{"rpm upgrade", "postinst.sh 2", []string{"daemon-reload", "is-active --quiet vrrpd.service"}, "vrrpd was not restarted"},
		{"rpm preun upgrade", "prerm.sh 1", nil, ""},
		{"rpm preun erase", "prerm.sh 0", []string{"stop vrrpd.service", "--no-reload disable vrrpd.service"}, ""},
		{"rpm postun upgrade", "postrm.sh 1", nil, ""},
		{"rpm postun erase", "postrm.sh 0", []string{"daemon-reload"}, ""},
		{"first install again", "postinst.sh 1", []string{"daemon-reload", "enable vrrpd.service"}, "vrrpd is installed and enabled"},
		{"no live config: no hint", "echo 'node: n' >/etc/vrrpd.yaml.tmp && mkdir -p /etc/vrrpd && mv /etc/vrrpd.yaml.tmp /etc/vrrpd/vrrpd.yaml && " +
			"/vrrpd-test/postinst.sh 1 && rm /etc/vrrpd/vrrpd.yaml", []string{"daemon-reload", "enable vrrpd.service"}, ""},
		{"without systemd running", "mv /run/systemd/system /run/systemd/off && /vrrpd-test/postinst.sh 2 && /vrrpd-test/prerm.sh remove; " +
			"s=$?; mv /run/systemd/off /run/systemd/system; exit $s", []string{"is-active --quiet vrrpd.service"}, "vrrpd was not restarted"},
		{"without systemd-sysusers", "mv /usr/bin/systemd-sysusers /usr/bin/sysusers.off && /vrrpd-test/postinst.sh 1; " +
			"s=$?; mv /usr/bin/sysusers.off /usr/bin/systemd-sysusers; exit $s", []string{"daemon-reload", "enable vrrpd.service"}, "vrrpd is installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts without the accounts, so that each creates them.
			r.must("for u in vrrpd-script; do ! getent passwd $u >/dev/null || userdel $u; done; for g in vrrpd vrrpd-script; do ! getent group $g >/dev/null || groupdel $g; done")
			script := tt.script
			if !strings.Contains(script, "/vrrpd-test/") {
				script = "/vrrpd-test/" + script
			}
			out, err := r.sh(script)
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			isPostinst := strings.Contains(script, "postinst.sh")
			if tt.says == "" && !isPostinst && strings.TrimSpace(out) != "" {
				t.Errorf("%s printed:\n%s", script, out)
			}
			for _, msg := range []string{"vrrpd is installed", "vrrpd was not restarted"} {
				if tt.says == "" && strings.Contains(out, msg) {
					t.Errorf("%s said %q:\n%s", script, msg, out)
				}
			}
			if !strings.Contains(out, tt.says) {
				t.Errorf("%s printed no %q:\n%s", script, tt.says, out)
			}
			if calls := r.systemctlCalls(); !slices.Equal(calls, tt.calls) {
				t.Errorf("%s: systemctl %q, want %q", script, calls, tt.calls)
			}
			if isPostinst {
				r.must("getent group vrrpd >/dev/null && getent passwd vrrpd-script >/dev/null")
			}
		})
	}
}
