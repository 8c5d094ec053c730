package daemon

import (
	"testing"
	"unsafe"
)

// TestInstanceSize: a node keeps an instance per configured one, a thousand of them and
// more. The allocator rounds an instance up to its size class; past 448 bytes the next
// is 480. Rarely used state (the per-reason drop log) is allocated when first needed.
func TestInstanceSize(t *testing.T) {
	if n := unsafe.Sizeof(instance{}); n > 448 {
		t.Errorf("an instance takes %d bytes, over 448", n)
	}
}
