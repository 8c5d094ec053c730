package keepalived

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDecomment(t *testing.T) {
	tests := []struct {
		name, in, want string
		cont, open     bool
	}{
		{name: "hash", in: "  priority 100 # comment", want: "priority 100"},
		{name: "bang", in: "priority 100! comment", want: "priority 100"},
		{name: "comment line", in: "! Configuration File for keepalived", want: ""},
		{name: "quoted hash", in: `script "a # b" # c`, want: `script "a # b"`},
		{name: "escaped hash", in: `auth_pass a\#b`, want: `auth_pass a#b`},
		{name: "escaped hash in quotes kept", in: `script "a \# b"`, want: `script "a \# b"`},
		{name: "escaped quote", in: `script "a \" # b"`, want: `script "a \" # b"`},
		{name: "continued", in: `$X=a \`, want: `$X=a\`, cont: true},
		{name: "open quote", in: `script "a # b`, want: `script "a # b`, open: true},
		{name: "single quotes do not quote", in: `auth_pass 'a#b'`, want: `auth_pass 'a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cont, open := decomment(tt.in)
			if got != tt.want || cont != tt.cont || open != tt.open {
				t.Errorf("decomment(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, cont, open, tt.want, tt.cont, tt.open)
			}
		})
	}
}

func TestSplitBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"vrrp_instance VI_1 {", []string{"vrrp_instance VI_1", "{"}},
		{"virtual_ipaddress { 192.0.2.1/24 }", []string{"virtual_ipaddress", "{", "192.0.2.1/24", "}"}},
		{"}}", []string{"}", "}"}},
		{`notify "/bin/x {a}" {`, []string{`notify "/bin/x {a}"`, "{"}},
		{`notify "/bin/x {a}`, []string{`notify "/bin/x {a}`}},
		{"priority 100", []string{"priority 100"}},
	}
	for _, tt := range tests {
		if got := splitBraces(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitBraces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in        string
		want      []string
		unmatched bool
	}{
		{`script "killall -0 haproxy"`, []string{"script", "killall -0 haproxy"}, false},
		{"router_id\t lb1 ", []string{"router_id", "lb1"}, false},
		{`a"b"c`, []string{"a", "b", "c"}, false},
		{`auth_pass 'x y'`, []string{"auth_pass", "'x", "y'"}, false},
		{`notify "/bin/x`, []string{"notify"}, true},
	}
	for _, tt := range tests {
		got, unmatched := splitWords(tt.in)
		if !reflect.DeepEqual(got, tt.want) || unmatched != tt.unmatched {
			t.Errorf("splitWords(%q) = %q, %v; want %q, %v", tt.in, got, unmatched, tt.want, tt.unmatched)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []string
		shell bool
		err   error
	}{
		{name: "plain", in: "killall -0 haproxy", want: []string{"killall", "-0", "haproxy"}},
		{name: "single quotes", in: `/bin/sh -c 'pidof haproxy && echo "x y"'`, want: []string{"/bin/sh", "-c", `pidof haproxy && echo "x y"`}},
		{name: "double quotes", in: `/x "a b" c`, want: []string{"/x", "a b", "c"}},
		{name: "joined parts", in: `/x a'b c'd`, want: []string{"/x", "ab cd"}},
		{name: "escapes", in: `/x a\ b \t \x41 \101 \cA \q`, want: []string{"/x", "a b", "\t", "A", "A", "\x01", "q"}},
		{name: "pipe", in: "pgrep haproxy | wc -l", want: []string{"pgrep", "haproxy", "|", "wc", "-l"}, shell: true},
		{name: "quoted pipe", in: `grep -q 'a|b' /f`, want: []string{"grep", "-q", "a|b", "/f"}},
		{name: "escaped dollar", in: `echo \$HOME`, want: []string{"echo", "$HOME"}},
		{name: "dollar", in: `echo $HOME`, want: []string{"echo", "$HOME"}, shell: true},
		{name: "open quote", in: `/x 'a`, err: errOpenQuote},
		{name: "lone escape", in: `/x a\`, err: errLoneEscape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, shell, err := splitCommand(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("splitCommand(%q) error %v, want %v", tt.in, err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) || shell != tt.shell {
				t.Errorf("splitCommand(%q) = %q, %v; want %q, %v", tt.in, got, shell, tt.want, tt.shell)
			}
		})
	}
}

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/etc/k/*.conf", []string{"/etc/k/*.conf"}},
		{"/etc/k/{a,b}.conf", []string{"/etc/k/a.conf", "/etc/k/b.conf"}},
		{"{foo/{,cat,dog},bar}", []string{"foo/", "foo/cat", "foo/dog", "bar"}},
		{"/etc/{a", []string{"/etc/{a"}},
	}
	for _, tt := range tests {
		if got := expandBraces(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expandBraces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsDefinition(t *testing.T) {
	for in, want := range map[string]bool{
		"$IF=eth0": true, "$IF =eth0": true, "$_X=": true, "$1=a": false, "$IF": false, "priority $P": false,
	} {
		if got := isDefinition(in); got != want {
			t.Errorf("isDefinition(%q) = %v, want %v", in, got, want)
		}
	}
}

// noFiles is a file system with no file in it.
func noFiles() Options {
	return Options{
		ReadFile: func(string) ([]byte, error) { return nil, fs.ErrNotExist },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
}

// TestIncludeLoop checks that a file including itself stops with an error.
func TestIncludeLoop(t *testing.T) {
	conf := []byte("include self.conf\n")
	opts := Options{ReadFile: func(string) ([]byte, error) { return conf, nil }}
	_, err := ConvertBytes("self.conf", conf, opts)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

// TestConditional checks @id and @^id lines against the config id.
func TestConditional(t *testing.T) {
	conf := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n @a priority 150\n @^a priority 50\n" +
		" virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n"
	for id, want := range map[string]string{"a": "priority: 150", "b": "priority: 50"} {
		opts := noFiles()
		opts.ConfigID = id
		res, err := ConvertBytes("k.conf", []byte(conf), opts)
		if err != nil {
			t.Fatalf("config id %s: %v", id, err)
		}
		if !strings.Contains(string(res.YAML), want) {
			t.Errorf("config id %s: output has no %q:\n%s", id, want, res.YAML)
		}
	}
	if _, err := ConvertBytes("k.conf", []byte(conf), noFiles()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("without a config id: err = %v, want ErrUnsupported", err)
	}
}

// TestOutputIsYAML checks that names and commands with characters YAML treats
// specially come out as the same strings.
func TestOutputIsYAML(t *testing.T) {
	conf := `vrrp_script "chk:#1" {
    script "/usr/local/bin/check '- [x]' 'a: b' '*ref' yes 0x10 ~"
}
vrrp_instance "VI 1" {
    interface eth0
    virtual_router_id 1
    track_script {
        "chk:#1"
    }
    virtual_ipaddress {
        192.0.2.1/24
    }
}
`
	res, err := ConvertBytes("k.conf", []byte(conf), noFiles())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Scripts map[string]struct {
			Exec []string `yaml:"exec"`
		} `yaml:"scripts"`
		Instances []struct {
			Name string `yaml:"name"`
		} `yaml:"instances"`
	}
	if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	want := []string{"/usr/local/bin/check", "- [x]", "a: b", "*ref", "yes", "0x10", "~"}
	if got := doc.Scripts["chk:#1"].Exec; !reflect.DeepEqual(got, want) {
		t.Errorf("exec = %q, want %q\n%s", got, want, res.YAML)
	}
	if len(doc.Instances) != 1 || doc.Instances[0].Name != "VI_1" {
		t.Errorf("instances = %+v, want one named VI_1", doc.Instances)
	}
}
