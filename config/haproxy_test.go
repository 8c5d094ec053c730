package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHAProxyRule(t *testing.T) {
	b := func(name string) HAProxyObject { return HAProxyObject{Name: name} }
	f := func(name string) HAProxyObject { return HAProxyObject{Frontend: true, Name: name} }
	tests := []struct {
		name string
		in   string
		want HAProxyRule
		str  string // String(); in when empty
		err  string // a part of the error
	}{
		{name: "backend", in: "b:be_app", want: HAProxyRule{Objects: []HAProxyObject{b("be_app")}}},
		{name: "frontend", in: "f:www", want: HAProxyRule{Objects: []HAProxyObject{f("www")}}},
		{name: "all", in: "all(b:be_app,b:be_static)", want: HAProxyRule{Objects: []HAProxyObject{b("be_app"), b("be_static")}}},
		{name: "any", in: "any(b:be_app,f:www)", want: HAProxyRule{Any: true, Objects: []HAProxyObject{b("be_app"), f("www")}}},
		{name: "spaces", in: " all ( b:a , f:b ) ", want: HAProxyRule{Objects: []HAProxyObject{b("a"), f("b")}}, str: "all(b:a,f:b)"},
		{name: "all of one", in: "all(b:a)", want: HAProxyRule{Objects: []HAProxyObject{b("a")}}, str: "b:a"},
		{name: "dotted names", in: "b:be.app-2", want: HAProxyRule{Objects: []HAProxyObject{b("be.app-2")}}},
		{name: "empty", in: "", err: "an item is empty"},
		{name: "no kind", in: "be_app", err: `"be_app" is neither b:BACKEND nor f:FRONTEND`},
		{name: "other kind", in: "s:be_app/srv1", err: `"s:be_app/srv1" is neither`},
		{name: "no name", in: "b:", err: `"b:" has no proxy name`},
		{name: "unclosed", in: "all(b:a,b:b", err: "all( is not closed by )"},
		{name: "empty list", in: "any()", err: "an item is empty"},
		{name: "trailing comma", in: "all(b:a,)", err: "an item is empty"},
		{name: "nested", in: "all(b:a,any(b:b,b:c))", err: "rules do not nest"},
		{name: "twice", in: "any(b:a,b:a)", err: "b:a is listed twice"},
		{name: "other operator", in: "none(b:a)", err: `"none" is not an operator: write all(...) or any(...)`},
		{name: "space in name", in: "b:be app", err: "has no proxy name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHAProxyRule(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrHAProxyRule) {
					t.Fatalf("ParseHAProxyRule(%q) = %v, %v; want an ErrHAProxyRule saying %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			str := tt.str
			if str == "" {
				str = tt.in
			}
			if got.String() != str {
				t.Errorf("String() = %q, want %q", got.String(), str)
			}
		})
	}
}

// TestTrackerDefaults: the defaults of processes, files and haproxy checks, and the
// weight of a file tracked by name alone (1, as keepalived's track_file).
func TestTrackerDefaults(t *testing.T) {
	const file = minimal + `    track:
      processes: [haproxy]
      files: [drain]
      haproxy: [lb]
      interfaces: [eth1]
processes:
  haproxy: {}
files:
  drain: {path: /etc/vrrpd//drain}
haproxy:
  lb: {socket: /run/haproxy/admin.sock, interval: 3s, rule: 'f:www'}
`
	cfg, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Process{Name: "haproxy", Match: "haproxy", Min: 1, Line: 12}); !reflect.DeepEqual(cfg.Processes, []Process{want}) {
		t.Errorf("processes: %+v, want %+v", cfg.Processes, want)
	}
	if want := (File{Name: "drain", Path: "/etc/vrrpd/drain", Line: 14}); !reflect.DeepEqual(cfg.Files, []File{want}) {
		t.Errorf("files: %+v, want %+v", cfg.Files, want)
	}
	h := cfg.HAProxy[0]
	if h.Interval != 3*time.Second || h.Timeout != 3*time.Second || h.Rule.String() != "f:www" {
		t.Errorf("haproxy: %+v", h)
	}
	tr := cfg.Instances[0].Track
	if tr.Processes[0].Weight != 0 || tr.Files[0].Weight != 1 || tr.HAProxy[0].Weight != 0 || tr.Interfaces[0].Weight != 0 {
		t.Errorf("weights: %+v", tr)
	}
}
