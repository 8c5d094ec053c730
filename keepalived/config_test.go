package keepalived_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vrrpd/vrrpd/config"
)

// probeBase is a valid vrrpd configuration that the probes add one section to.
const probeBase = `node: probe
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.100/24]
`

// probes are the sections and keys that convert writes and that config may not know
// yet, each with a configuration that uses it and nothing else new.
var probes = map[string]string{
	"processes": probeBase + "    track: {processes: [{name: p, weight: -10}]}\nprocesses: {p: {match: haproxy}}\n",
	"files":     probeBase + "    track: {files: [{name: f, weight: 1}]}\nfiles: {f: {path: /etc/vrrpd/drain}}\n",
	"scripts.*.init_fail": probeBase + "    track: {scripts: [{name: s, weight: 0}]}\n" +
		"scripts: {s: {exec: [/bin/true], init_fail: true}}\n",
}

// expectedWarnings are the warnings a golden file is written to have, by the setting
// they are about: keepalived's unicast_fault_no_peer is an instance kept in FAULT.
var expectedWarnings = map[string]string{
	"extras.yaml": "instances[API].unicast.peers",
}

// unknownSections returns the probed sections that doc uses and config.Parse refuses.
func unknownSections(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var used []string
	if _, ok := doc["processes"]; ok {
		used = append(used, "processes")
	}
	if _, ok := doc["files"]; ok {
		used = append(used, "files")
	}
	if scripts, ok := doc["scripts"].(map[string]any); ok {
		for _, s := range scripts {
			if m, ok := s.(map[string]any); ok && m["init_fail"] != nil {
				used = append(used, "scripts.*.init_fail")
				break
			}
		}
	}
	var unknown []string
	for _, section := range used {
		if _, err := config.Parse("probe.yaml", []byte(probes[section])); err != nil {
			unknown = append(unknown, section)
		}
	}
	return unknown
}

// TestGoldenParse checks that every golden YAML is a valid vrrpd configuration: what
// convert writes, vrrpd check accepts without a warning.
func TestGoldenParse(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden YAML: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			if unknown := unknownSections(t, doc); len(unknown) > 0 {
				t.Fatalf("uses %s, which config.Parse does not know", strings.Join(unknown, ", "))
			}
			cfg, err := config.Parse(file, data)
			if err != nil {
				t.Fatalf("config.Parse:\n%v", err)
			}
			for _, w := range cfg.Warnings {
				if w.Path == expectedWarnings[filepath.Base(file)] {
					continue
				}
				t.Errorf("warning: %v", w)
			}
		})
	}
}
