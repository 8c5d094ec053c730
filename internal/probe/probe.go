package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Port is the UDP port the responders listen on.
const Port = 7

// header is the probe's content: sequence number and send time, in nanoseconds since the
// Unix epoch. The answer repeats it and appends the node's name.
const header = 16

// Answer is one answered probe.
type Answer struct {
	VIP  netip.Addr
	Seq  uint64    // the probe's number, counted per VIP from 1
	Sent time.Time // when the probe went out
	At   time.Time // when the answer came back
	From string    // the name of the node that answered
}

// Opener opens a socket where the client or responder lives, typically a network
// namespace's Do.
type Opener func(fn func() error) error

// Responder answers every UDP datagram to Port, on any address of its namespace, with
// the datagram followed by its name.
type Responder struct {
	conns []net.PacketConn
	wg    sync.WaitGroup
}

// Respond starts a responder named name in the namespace that open enters.
func Respond(open Opener, name string) (*Responder, error) {
	r := &Responder{}
	for _, network := range []string{"udp4", "udp6"} {
		var pc net.PacketConn
		err := open(func() (err error) {
			pc, err = net.ListenPacket(network, fmt.Sprintf(":%d", Port))
			return err
		})
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("probe: responder %s: %w", name, err)
		}
		r.conns = append(r.conns, pc)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			buf := make([]byte, 64)
			for {
				k, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(append(buf[:k:k], name...), from)
			}
		}()
	}
	return r, nil
}

// Close stops the responder.
func (r *Responder) Close() error {
	for _, c := range r.conns {
		c.Close()
	}
	r.wg.Wait()
	return nil
}

// history is how many probes' send times a Client keeps: over three minutes at 3 ms.
const history = 1 << 16

// Client sends a probe to every VIP each interval until Stop.
type Client struct {
	every time.Duration
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu     sync.Mutex
	sent   uint64
	sentAt []int64 // by sequence number modulo history, in Unix nanoseconds
}

// Start opens one socket per VIP where open says and starts probing; handle gets every
// answer, from the goroutine that read it (one per VIP), until Stop returns.
func Start(open Opener, vips []netip.Addr, every time.Duration, handle func(Answer)) (*Client, error) {
	if every <= 0 {
		return nil, errors.New("probe: the interval must be positive")
	}
	c := &Client{every: every, stop: make(chan struct{}), sentAt: make([]int64, history)}
	type target struct {
		pc  net.PacketConn
		dst *net.UDPAddr
		vip netip.Addr
	}
	var targets []target
	closeAll := func() {
		for _, tg := range targets {
			tg.pc.Close()
		}
	}
	for _, vip := range vips {
		network := "udp4"
		if vip.Is6() {
			network = "udp6"
		}
		var pc net.PacketConn
		err := open(func() (err error) {
			pc, err = net.ListenPacket(network, ":0")
			return err
		})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("probe: client socket for %v: %w", vip, err)
		}
		targets = append(targets, target{pc, net.UDPAddrFromAddrPort(netip.AddrPortFrom(vip, Port)), vip})
	}
	for _, tg := range targets {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			buf := make([]byte, 128)
			for {
				k, _, err := tg.pc.ReadFrom(buf)
				if err != nil {
					return
				}
				at := time.Now()
				if k <= header {
					continue
				}
				handle(Answer{
					VIP:  tg.vip,
					Seq:  binary.BigEndian.Uint64(buf[0:8]),
					Sent: time.Unix(0, int64(binary.BigEndian.Uint64(buf[8:16]))),
					At:   at,
					From: string(buf[header:k]),
				})
			}
		}()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var msg [header]byte
		for {
			select {
			case <-c.stop:
				closeAll()
				return
			case <-tick.C:
				now := time.Now()
				c.mu.Lock()
				c.sent++
				seq := c.sent
				c.sentAt[seq%history] = now.UnixNano()
				c.mu.Unlock()
				binary.BigEndian.PutUint64(msg[0:8], seq)
				binary.BigEndian.PutUint64(msg[8:16], uint64(now.UnixNano()))
				for _, tg := range targets {
					_, _ = tg.pc.WriteTo(msg[:], tg.dst)
				}
			}
		}
	}()
	return c, nil
}

// Every is the interval between probes.
func (c *Client) Every() time.Duration { return c.every }

// Sent returns how many probes went to each VIP so far.
func (c *Client) Sent() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// SentAt returns when probe seq went out; false for a probe not sent yet or older than
// the last 65536.
func (c *Client) SentAt(seq uint64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq == 0 || seq > c.sent || c.sent-seq >= history {
		return time.Time{}, false
	}
	return time.Unix(0, c.sentAt[seq%history]), true
}

// Outage is how long the probes of g went unanswered: from when its first lost probe
// went out to when g.After went out. A late tick of the client's own clock before the
// gap does not count, as it does in Gap.Outage's estimate, which Outage falls back on
// for a gap older than the client remembers.
func (c *Client) Outage(g Gap) time.Duration {
	first, ok := c.SentAt(g.Before.Seq + 1)
	if !ok || g.Lost == 0 {
		return g.Outage(c.every)
	}
	return max(0, g.After.Sent.Sub(first))
}

// Stop ends probing and waits until no handler runs any more. It may be called more
// than once.
func (c *Client) Stop() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}
