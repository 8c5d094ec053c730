// Package bfd is Bidirectional Forwarding Detection in pure Go: the control packet
// codec and the state machine of one session in asynchronous mode (RFC 5880), for
// single-hop sessions over IPv4 and IPv6 (RFC 5881). It makes no system calls, starts
// no goroutines and reads time only from an injected Clock, like package vrrp, so a
// pair of sessions is tested in simulated time.
//
// # Packets
//
// ControlPacket is the mandatory section of a BFD Control packet (RFC 5880 section
// 4.1), with MarshalBinary and Parse. Parse applies the checks of section 6.8.6 that
// need no session: version 1, a length within the packet and at least 24 bytes, a
// non-zero Detect Mult, no Multipoint bit, a non-zero My Discriminator, a zero Your
// Discriminator only in Down or AdminDown; and since no session is configured with
// authentication, a packet with the A bit is discarded. The errors wrap ErrDiscard.
//
// # Sessions
//
// Session is the state machine of section 6.2 (AdminDown, Down, Init, Up) driven by
// events (Start, Received, TimerFired, Stop, Reconfigure) that return actions (Send a
// control packet, StateChanged). It implements:
//
//   - the transmission rules of section 6.8.7: the interval is the larger of our
//     Desired Min TX and the peer's Required Min RX, less a jitter of 0 to 25 % (10 to
//     25 % with a Detect Mult of 1); nothing is sent to a peer asking for no packets
//     (Required Min RX 0), nor, in the passive role, before the peer is heard;
//   - the slow rate of section 6.8.3: at least one second while the session is not
//     Up (IdleTxInterval);
//   - the Poll Sequence of sections 6.5 and 6.8.3 when the timers change while Up
//     (leaving the slow rate, a reload): an increased TX interval and a decreased
//     detection time take effect only when the peer answers with Final;
//   - the Detection Time of section 6.8.4: the peer's Detect Mult times the larger of
//     our Required Min RX and the peer's Desired Min TX, after which the session goes
//     Down with diagnostic 1 (Control Detection Time Expired).
//
// Demand mode, the Echo function and authentication are not implemented: the session
// never asks for them, and a peer's Demand bit only stops periodic packets as section
// 6.8.7 requires. Demultiplexing packets to sessions (by Your Discriminator, or by
// source address while it is zero, section 6.3) is the caller's.
package bfd
