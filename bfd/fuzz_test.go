package bfd

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzParse checks that Parse never panics, and that a packet it accepts encodes back
// to the bytes of its mandatory section.
func FuzzParse(f *testing.F) {
	good, _ := hex.DecodeString(frrDown)
	f.Add(good)
	up := bytes.Clone(good)
	up[1], up[11] = 0xe0, 7
	f.Add(up)
	f.Add(good[:10])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of an accepted packet: %v", err)
		}
		in := bytes.Clone(b[:HeaderLen])
		in[3] = HeaderLen
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encoded %x, received %x", out, in)
		}
	})
}
