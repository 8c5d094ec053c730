package vrrp

import (
	"testing"
	"unsafe"
)

// TestRouterSize: a node keeps a router per instance, a thousand of them and more. The
// allocator rounds a Router up to its size class; past 1024 bytes the next is 1152.
// A field that does not fit is worth a look at the padding first (bools and uint8s
// between wider fields), then a raised bound.
func TestRouterSize(t *testing.T) {
	if n := unsafe.Sizeof(Router{}); n > 1024 {
		t.Errorf("a Router takes %d bytes, over 1024", n)
	}
}
