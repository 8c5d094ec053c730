package tracker

import (
	"errors"
	"os"
	"testing"

	"github.com/vrrpd/vrrpd/config"
)

// FuzzParseShowStat: any answer of a stats socket is parsed or refused, never a panic,
// and a rule evaluates on what is parsed.
func FuzzParseShowStat(f *testing.F) {
	if b, err := os.ReadFile("testdata/show-stat.csv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(statsUp))
	f.Add([]byte("Unknown command\n"))
	f.Add([]byte("# pxname,svname,status\nbe,\"s1\nx"))
	rule := config.HAProxyRule{Objects: []config.HAProxyObject{{Name: "be_app"}, {Frontend: true, Name: "www"}}}
	f.Fuzz(func(t *testing.T, answer []byte) {
		stats, err := parseShowStat(answer)
		if err != nil {
			if !errors.Is(err, errNotStats) {
				t.Fatalf("error %v is not errNotStats", err)
			}
			return
		}
		if state, detail := evaluate(rule, stats); state == Unknown || detail == "" {
			t.Fatalf("evaluate: %v %q", state, detail)
		}
	})
}

// FuzzParseValue: any content of a tracked file reads as a number that keepalived's
// bounds keep, with its digits and the rest accounted for.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"5", "-1000\n", "0x1f", "010", "abc", "", " +7 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, digits, rest := parseValue(s)
		if v > 1<<32 || v < -(1<<32) || digits > len(s) || len(rest) > len(s) || digits == 0 && v != 0 {
			t.Fatalf("parseValue(%q) = %d, %d, %q", s, v, digits, rest)
		}
	})
}
