package control

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestJSONStringAsEncodingJSON: the reply streamed a write at a time is, byte for
// byte, what encoding/json makes of the whole text, wherever the writes split it,
// even in the middle of a character.
func TestJSONStringAsEncodingJSON(t *testing.T) {
	var controls strings.Builder
	for c := range 0x20 {
		controls.WriteByte(byte(c))
	}
	tests := []struct {
		name string
		text string
	}{
		{"empty", ""},
		{"metrics", "# HELP m Some \"help\".\nm{l=\"a\\\\b\"} 1\n"},
		{"control characters", controls.String() + "\x7f"},
		{"HTML", "<a href=\"x\">&amp;</a>"},
		{"UTF-8", "señal ✓ 𝄞 日本"},
		{"line separators", "a\u2028b\u2029c"},
		{"invalid", "a\xffb\x80c\xe2\x82d\xf0\x9f\x98"},
		{"invalid then valid", "\xe2\xc3\xa9\xe2"},
		{"cut at the end", "ok\xe2\x82"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := writeJSON(&want, metricsReply{tt.text}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i <= len(tt.text); i++ {
				for j := i; j <= len(tt.text); j++ {
					var got bytes.Buffer
					err := writeMetrics(&got, func(w io.Writer) error {
						for _, part := range []string{tt.text[:i], tt.text[i:j], tt.text[j:]} {
							if _, err := io.WriteString(w, part); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if got.String() != want.String() {
						t.Fatalf("split at %d and %d:\n got %q\nwant %q", i, j, got.String(), want.String())
					}
				}
			}
		})
	}
}

// TestJSONStringLongWrite: one write longer than the buffer, a character across the
// point where it is cut in pieces.
func TestJSONStringLongWrite(t *testing.T) {
	for cut := flushAt - 3; cut <= flushAt; cut++ {
		text := strings.Repeat("\"", cut/4) + strings.Repeat("a", cut-cut/4) + "𝄞✓" + strings.Repeat("b\n", flushAt)
		var want, got bytes.Buffer
		if err := writeJSON(&want, metricsReply{text}); err != nil {
			t.Fatal(err)
		}
		if err := writeMetrics(&got, func(w io.Writer) error { _, err := io.WriteString(w, text); return err }); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("a character at %d: the reply differs from encoding/json's", cut)
		}
	}
}

// TestMetricsStreamed: a text of megabytes, its non-ASCII characters split across
// the writer's buffer, comes through whole; a failure after the text started reaches
// the client as an error, not as a shorter text.
func TestMetricsStreamed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	line := "vrrpd_instance_state{vrrp_instance=\"señal ✓ \\\"x\\\"\",state=\"MASTER\"} 1\n"
	text := strings.Repeat(line, 3<<20/len(line))
	write := func(w io.Writer) error {
		// Odd-sized writes, as a buffer that flushes in the middle of a character.
		bw := bufio.NewWriterSize(w, 4093)
		if _, err := bw.WriteString(text); err != nil {
			return err
		}
		return bw.Flush()
	}
	path := listen(t, newFakeSource(), Options{Metrics: write})
	got, err := QueryMetrics(ctx, path)
	if err != nil || got != text {
		t.Fatalf("%d bytes of %d, %v", len(got), len(text), err)
	}

	broken := errors.New("collector broke")
	path = listen(t, newFakeSource(), Options{Metrics: func(w io.Writer) error {
		if _, err := io.WriteString(w, text[:100000]); err != nil {
			return err
		}
		return broken
	}})
	if got, err := QueryMetrics(ctx, path); err == nil {
		t.Fatalf("a reply cut short read as %d bytes of metrics", len(got))
	}
}
