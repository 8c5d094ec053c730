package config

import (
	"strconv"
	"strings"
	"testing"
)

func TestTrackReachWarning(t *testing.T) {
	file := func(prio int, weights string) string {
		return `scripts:
  chk: {exec: [/bin/true], interval: 1s}
  chk2: {exec: [/bin/true], interval: 1s}
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: 150
    unicast: {source: 192.0.2.1, peers: [{address: 192.0.2.2, priority: ` + strconv.Itoa(prio) + `}, 192.0.2.3]}
    vips: [192.0.2.100/24]
    track:
      scripts: [` + weights + `]
`
	}
	tests := []struct {
		name    string
		prio    int
		weights string
		warn    bool
	}{
		{"too small", 100, "{name: chk, weight: -30}", true},
		{"two together reach", 100, "{name: chk, weight: -30}, {name: chk2, weight: -30}", false},
		{"down to equal is not below", 100, "{name: chk, weight: -50}", true},
		{"one below", 100, "{name: chk, weight: -51}", false},
		{"weight 0 faults", 100, "{name: chk, weight: 0}", false},
		{"peer above us", 200, "{name: chk, weight: -1}", false},
		{"positive weights never lower", 100, "{name: chk, weight: 60}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("vrrpd.yaml", []byte(file(tt.prio, tt.weights)))
			if err != nil {
				t.Fatal(err)
			}
			warned := false
			for _, w := range cfg.Warnings {
				if strings.Contains(w.Message, "a failing check never moves the VIP") {
					warned = true
				}
			}
			if warned != tt.warn {
				t.Fatalf("warned %v, want %v: %v", warned, tt.warn, cfg.Warnings)
			}
		})
	}
}
