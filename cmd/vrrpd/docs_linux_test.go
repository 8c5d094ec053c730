package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/internal/netnstest"
)

// flagsOf returns the flags of a command, from its usage.
func flagsOf(t *testing.T, name string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{name, "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("vrrpd %s --help: exit %d\n%s", name, code, errOut.String())
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(out.String(), -1) {
		flags = append(flags, "--"+m[1])
	}
	return flags
}

// TestDocsCoverCommandLine keeps vrrpd(8) and the shell completions in step with the
// command line: every command, and every flag of each.
func TestDocsCoverCommandLine(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	man, bash, zsh := read("docs/man/vrrpd.8.md"), read("deploy/completion/vrrpd.bash"), read("deploy/completion/_vrrpd")
	bashCommands := regexp.MustCompile(`local commands="([^"]*)"`).FindStringSubmatch(bash)
	if bashCommands == nil {
		t.Fatal("vrrpd.bash: no list of commands")
	}
	for _, c := range commands {
		if !strings.Contains(man, "\n### "+c.name+"\n") {
			t.Errorf("vrrpd(8) has no section for %s", c.name)
		}
		if !slices.Contains(strings.Fields(bashCommands[1]), c.name) {
			t.Errorf("vrrpd.bash does not complete the command %s", c.name)
		}
		if !strings.Contains(zsh, "'"+c.name+":") || !strings.Contains(zsh, "("+c.name+")") {
			t.Errorf("_vrrpd does not complete the command %s", c.name)
		}
		bashFlags := regexp.MustCompile(`(?m)^\s*` + c.name + `\) flags="([^"]*)"`).FindStringSubmatch(bash)
		for _, f := range flagsOf(t, c.name) {
			if !strings.Contains(man, "**"+f+"**") {
				t.Errorf("vrrpd(8) does not describe %s %s", c.name, f)
			}
			if bashFlags == nil || !slices.Contains(strings.Fields(bashFlags[1]), f) {
				t.Errorf("vrrpd.bash does not complete %s %s", c.name, f)
			}
			if !strings.Contains(zsh, "'"+f+"[") {
				t.Errorf("_vrrpd does not complete %s", f)
			}
		}
	}
}

// TestBashCompletion runs the completion function as bash does on a Tab, with the
// vrrpd binary on $PATH and a daemon answering on a socket for the instance names.
func TestBashCompletion(t *testing.T) {
	netnstest.RequireCommand(t, "bash")
	bin := plainVrrpd.Path(t)
	sock := fakeDaemon(t)
	file, err := filepath.Abs("../../deploy/completion/vrrpd.bash")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string // the words typed, the last one being completed
		want []string
	}{
		{"vrrpd ''", []string{"run", "check", "show", "events", "convert", "cleanup", "version", "help", "--help", "--version"}},
		{"vrrpd ch", []string{"check"}},
		{"vrrpd show --", []string{"--config", "--socket", "--json", "--watch", "--help"}},
		{"vrrpd check --", []string{"--offline", "--config", "--help"}},
		{"vrrpd run --log-level ''", []string{"debug", "info", "warn", "error"}},
		{"vrrpd run --log-format j", []string{"json"}},
		{"vrrpd convert -", []string{"--config-id", "--help"}},
		{"vrrpd help s", []string{"show"}},
		{"vrrpd version ''", nil},
		{"vrrpd show --socket " + sock + " ''", []string{"web", "db"}},
		{"vrrpd show --socket " + sock + " --json ''", []string{"web", "db"}},
		{"vrrpd show --socket " + sock + " --j", []string{"--json"}},
		{"vrrpd events --socket " + sock + " w", []string{"web"}},
		{"vrrpd show --socket /nonexistent/vrrpd.sock ''", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			script := `shopt -s extglob; source "$1"; COMP_WORDS=(` + tt.line + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _vrrpd 2>/dev/null; printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script, "bash", file)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("completes %q, want %q", got, want)
			}
		})
	}
}

// TestZshCompletion types a command line and a Tab in an interactive zsh (through a
// pseudo-terminal, testdata/zsh-complete.zsh) and compares what completion offered.
func TestZshCompletion(t *testing.T) {
	netnstest.RequireCommand(t, "zsh")
	bin := plainVrrpd.Path(t)
	sock := fakeDaemon(t)
	dir, err := filepath.Abs("../../deploy/completion")
	if err != nil {
		t.Fatal(err)
	}
	driver, err := filepath.Abs("testdata/zsh-complete.zsh")
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"run", "check", "show", "events", "convert", "cleanup", "version", "help"}
	tests := []struct {
		line string
		want []string
	}{
		{"vrrpd ", all},
		{"vrrpd sh", []string{"show"}},
		{"vrrpd show --", []string{"--config", "--socket", "--json", "--watch", "--help"}},
		{"vrrpd check --", []string{"--offline", "--config", "--help"}},
		{"vrrpd convert --", []string{"--config-id", "--help"}},
		{"vrrpd run --log-level ", []string{"debug", "info", "warn", "error"}},
		{"vrrpd help ", all},
		{"vrrpd show --socket " + sock + " ", []string{"web", "db"}},
		{"vrrpd events --socket " + sock + " w", []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "matches")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "zsh", "-f", driver, dir, tt.line, out)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
			cmd.Dir = t.TempDir()
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("zsh: %v\n%s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range strings.Fields(string(b)) {
				if m != "#done" && !slices.Contains(got, m) {
					got = append(got, m)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("completes %q, want %q", got, want)
			}
		})
	}
}
