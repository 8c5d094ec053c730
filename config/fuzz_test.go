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

// FuzzParseHAProxyRule: ParseHAProxyRule never panics, and a rule it accepts reads
// back the same from its String.
func FuzzParseHAProxyRule(f *testing.F) {
	for _, s := range []string{"b:be_app", "f:www", "all(b:a,b:b)", "any( b:a , f:w )", "all(b:a", "none(b:a)", "b:", "all()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseHAProxyRule(s)
		if err != nil {
			if !errors.Is(err, ErrHAProxyRule) {
				t.Fatalf("error %v is not ErrHAProxyRule", err)
			}
			return
		}
		if len(r.Objects) == 0 {
			t.Fatalf("%q: a rule without objects", s)
		}
		again, err := ParseHAProxyRule(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q -> %q -> %q, %v", s, r, again, err)
		}
	})
}
