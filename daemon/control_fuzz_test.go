package daemon

import (
	"encoding/json"
	"testing"
)

// FuzzParseRequest feeds the control socket's request decoder what anyone allowed to
// open the socket could send: it never panics, accepts only known commands, and what it
// accepts re-encodes to a request it accepts again.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"command":"show"}` + "\n", `{"command":"events"}`, `{"command":"stop"}`, `{}`, `[]`, `null`,
		`{"command":"show"}{"command":"show"}`, `{"command":"show","x":1}`, `{"command":1}`, "\xff", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := parseRequest(line)
		if err != nil {
			return
		}
		if req.Command != commandShow && req.Command != commandEvents {
			t.Fatalf("accepted %q", req.Command)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := parseRequest(b); err != nil || again != req {
			t.Fatalf("%s: %+v, %v", b, again, err)
		}
	})
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"command":"show"}` + "\n", true},
		{`{"command":"events"}`, true},
		{`{"command":"stop"}`, false},
		{`{"command":"show","extra":true}`, false},
		{`{"command":"show"} {"command":"events"}`, false},
		{`not json`, false},
		{`{"command":"show"}` + string(make([]byte, maxRequest)), false},
	} {
		if _, err := parseRequest([]byte(tc.line)); (err == nil) != tc.ok {
			t.Errorf("%.40q: %v", tc.line, err)
		}
	}
}
