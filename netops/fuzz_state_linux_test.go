package netops

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeVIPState feeds the state file decoder what a crash, a full disk or a hand
// edit could leave: it never panics, and what it accepts it writes back the same.
func FuzzDecodeVIPState(f *testing.F) {
	f.Add([]byte(`{"vips":[{"prefix":"192.0.2.100/24","interface":"eth0","label":"eth0:vip"},{"prefix":"2001:db8::100/64","interface":"eth0"}]}`))
	f.Add([]byte(`{"vips": null}`))
	f.Add([]byte(`{"vips":[`))
	f.Add([]byte(`{"vips":[{"prefix":"::ffff:192.0.2.1/128","interface":"eth0"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		owned, err := decodeVIPState(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(vipState{VIPs: sortedVIPs(owned)})
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeVIPState(out)
		if err != nil || len(again) != len(owned) {
			t.Fatalf("%s: %v, %d of %d", out, err, len(again), len(owned))
		}
		for k, v := range owned {
			if again[k] != v {
				t.Fatalf("%v became %v", v, again[k])
			}
		}
	})
}
