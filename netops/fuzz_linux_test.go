package netops

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vrrpd/vrrpd/vrrp"
)

// FuzzStripIPv4 feeds the IPv4 header decoder of the raw socket what a host on the LAN
// could send: it never panics nor reads past the packet.
func FuzzStripIPv4(f *testing.F) {
	f.Add([]byte{0x45, 0xc0, 0, 32, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18, 0x31, 51, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100})
	f.Add([]byte{0x4f})
	f.Add([]byte{0x46, 0, 0, 0, 0, 0, 0, 0, 1, 112, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m vrrp.Meta
		n, _, err := stripIPv4(b, &m)
		if err == nil && (n > len(b)-20 || n < 0) {
			t.Fatalf("payload of %d bytes from a packet of %d", n, len(b))
		}
	})
}

// FuzzParseControl feeds the control message decoder arbitrary bytes: the kernel's are
// well formed, but a decoder must not trust lengths.
func FuzzParseControl(f *testing.F) {
	pktinfo := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	binary.NativeEndian.PutUint64(pktinfo[0:8], uint64(unix.CmsgLen(unix.SizeofInet6Pktinfo)))
	binary.NativeEndian.PutUint32(pktinfo[8:12], unix.IPPROTO_IPV6)
	binary.NativeEndian.PutUint32(pktinfo[12:16], unix.IPV6_PKTINFO)
	f.Add(pktinfo)
	f.Add([]byte{})
	f.Add(make([]byte, unix.SizeofCmsghdr))
	f.Fuzz(func(t *testing.T, oob []byte) {
		var m vrrp.Meta
		parseControl(oob, &m)
	})
}

// FuzzParseAddrMsg feeds the address dump decoder arbitrary messages.
func FuzzParseAddrMsg(f *testing.F) {
	f.Add([]byte{2, 24, 0, 0, 2, 0, 0, 0, 8, 0, 2, 0, 192, 0, 2, 100, 5, 0, 11, 0, 112, 0, 0, 0})
	f.Add([]byte{10, 64, 0, 0, 2, 0, 0, 0, 20, 0, 1, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, m []byte) {
		ka, ok, err := parseAddrMsg(m)
		if ok && (err != nil || !ka.Prefix.IsValid()) {
			t.Fatalf("%+v %v", ka, err)
		}
	})
}
