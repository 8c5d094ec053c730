package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vrrpd/vrrpd/control"
)

// docEvents returns the examples of `vrrpd events` in docs/operations.md: the lines
// for a person, and the JSON lines of the same events.
func docEvents(t *testing.T) (readable, jsonLines []string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```\n\\$ vrrpd events\n(.*?)```\n.*?```\n\\$ vrrpd events --json\n(.*?)```\n").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/operations.md has no example of vrrpd events and vrrpd events --json")
	}
	return strings.Split(strings.TrimSuffix(string(m[1]), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(m[2]), "\n"), "\n")
}

// TestEventsDocExample: the examples of docs/operations.md are what vrrpd events
// prints: each JSON line is an Event as the daemon encodes it, field for field and in
// order, and each readable line is that event formatted.
func TestEventsDocExample(t *testing.T) {
	readable, lines := docEvents(t)
	if len(readable) != len(lines) || len(lines) < 3 {
		t.Fatalf("%d readable lines and %d JSON lines; want the same events, at least 3", len(readable), len(lines))
	}
	for i, line := range lines {
		var e control.Event
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var again bytes.Buffer
		enc := json.NewEncoder(&again)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(again.String(), "\n"); got != line {
			t.Errorf("the daemon writes this event as\n%s\nthe documentation says\n%s", got, line)
		}
		if got := formatEvent(e, time.UTC, palette{}); got != readable[i] {
			t.Errorf("vrrpd events prints\n%s\nthe documentation says\n%s", got, readable[i])
		}
	}
}

// jsonKeys returns the keys of a JSON object, in order.
func jsonKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	return keys
}

// checkEventLikeDoc checks that an event line a daemon wrote has the keys, in order,
// of the example of its type in docs/operations.md.
func checkEventLikeDoc(t *testing.T, line string) {
	t.Helper()
	var e control.Event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	_, lines := docEvents(t)
	for _, doc := range lines {
		var d control.Event
		if err := json.Unmarshal([]byte(doc), &d); err != nil || d.Type != e.Type {
			continue
		}
		if got, want := strings.Join(jsonKeys(t, line), ","), strings.Join(jsonKeys(t, doc), ","); got != want {
			t.Errorf("a %s event has the keys %s; the documentation's %s", e.Type, got, want)
		}
		return
	}
	t.Errorf("docs/operations.md has no example of a %s event", e.Type)
}
