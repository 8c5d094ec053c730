package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary files: it must never panic, and it must return either
// a Config whose Warnings hold no error, or a *Problems with at least one error, each
// with a message. Check must not panic on what Parse accepts.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, pattern := range []string{"testdata/*.yaml", "../deploy/examples/*.yaml", "../deploy/examples/*/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	host := fakeHost{"eth0": {netip.MustParseAddr("192.0.2.1")}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			var problems *Problems
			if !errors.As(err, &problems) || !problems.HasErrors() {
				t.Fatalf("error %v (%T) is not a *Problems with an error", err, err)
			}
			for _, p := range *problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		if cfg == nil || cfg.Warnings.HasErrors() || len(cfg.Instances) == 0 {
			t.Fatalf("accepted %+v", cfg)
		}
		Check(cfg, host)
	})
}
