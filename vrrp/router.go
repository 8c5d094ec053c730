package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Clock tells a Router the time. The daemon gives it the system clock; tests a fake one.
type Clock interface {
	Now() time.Time
}

// Config is what a Router needs to know about its virtual router.
type Config struct {
	VRID    uint8
	Version Version
	// Priority is the base priority, 1..255; 255 is the address owner.
	Priority uint8
	// AdvertInterval is Advertisement_Interval: VRRPv2 whole seconds, VRRPv3 10 ms steps.
	AdvertInterval time.Duration
	// Preempt lets a higher-priority backup take over from a live master.
	Preempt bool
	// PreemptDelay keeps accepting lower-priority adverts for this long after the first
	// one, before preempting (keepalived's preempt_delay).
	PreemptDelay time.Duration
	// Accept is the RFC's Accept_Mode: whether a non-owner master accepts packets for
	// its VIPs. The router carries it; the data plane applies it.
	Accept bool
	// DownTimerAdverts is how many adverts Master_Down_Interval spans; 0 means 3.
	DownTimerAdverts int
	// LowerPriorityNoAdvert stops a master from answering a lower-priority advert at
	// once (RFC 9568 section 6.4.3 asks for the answer; keepalived's lower_prio_no_advert).
	LowerPriorityNoAdvert bool
	// Address is the router's primary address: the source of its adverts and the
	// tie-break between equal priorities (IPv6: the link-local address).
	Address netip.Addr
	// VIPs are the addresses carried in adverts, in the configured order.
	VIPs []netip.Addr
	// Unicast sends to Peers instead of the group; CheckPeers then accepts adverts from
	// the peers only.
	Unicast    bool
	Peers      []netip.Addr
	CheckPeers bool
	// AuthType and AuthData are VRRPv2 authentication.
	AuthType AuthType
	AuthData [8]byte
	// IfIndex, when not 0, is the interface adverts must arrive on.
	IfIndex int
	// ChecksumForm is the form sent by a VRRPv3 IPv4 instance.
	ChecksumForm ChecksumForm

	// MakeBeforeBreak keeps the VIPs of a master that leaves on purpose (Shutdown, a
	// FaultRaised that is not Immediate) until it hears another master, or
	// Master_Down_Interval passes without one: clients move with the new master's
	// gratuitous ARP, never into a gap.
	MakeBeforeBreak bool
	// FastHandover lets a backup with preempt that hears its master advertise a priority
	// below its own take over after Skew_Time, as after priority 0, instead of
	// Master_Down_Interval (RFC 5798 discards such adverts). Not with PreemptDelay.
	FastHandover bool
	// StartupGrace counts a router's first Skew_Time after Startup over StartupGrace
	// rather than the advert interval, when it is longer: (256 - priority) / 256 x
	// StartupGrace. Nodes started together then elect the highest priority even when
	// its process starts a little later, at intervals short enough that their skews
	// differ by less. 0 for none.
	StartupGrace time.Duration
	// StepDownAdvert makes a master that yields to a higher priority send one advert at
	// priority 1 first, so that the winner of a healed split brain hears a lower master
	// and announces its VIPs at once, whichever advert crossed first; and a few more
	// after it (StepDownAdverts), in case the first was lost. The winner of a healed
	// split brain announces again healReannounce later.
	StepDownAdvert bool
	// ReportLowerPriority makes a master report the lower priorities it hears
	// (LowerPriorityHeard), at most one per advert interval.
	ReportLowerPriority bool
	// Group is the multicast group adverts must be addressed to, when not the RFC's;
	// invalid for any group.
	Group netip.Addr
	// SyncGroup makes the router a member of a sync group: a backup whose
	// Master_Down_Timer runs out waits for GroupAllowsMaster before it takes over.
	SyncGroup bool
}

// answerBurst is how many lower-priority adverts a master answers at once, and per
// advert interval after.
const answerBurst = 8

// takeAnswer reports whether a master may answer a lower-priority advert now, and
// counts it.
func (r *Router) takeAnswer(now time.Time) bool {
	if r.answeredAt.IsZero() {
		r.answers, r.answeredAt = answerBurst, now
	}
	if per := r.cfg.AdvertInterval / answerBurst; per > 0 {
		if n := int(now.Sub(r.answeredAt) / per); n > 0 {
			r.answers = min(answerBurst, r.answers+n)
			r.answeredAt = r.answeredAt.Add(time.Duration(n) * per)
		}
	}
	if r.answers == 0 {
		return false
	}
	r.answers--
	return true
}

// stepDownPriority is the priority of the advert a master sends as it yields
// (StepDownAdvert).
const stepDownPriority = 1

// StepDownAdverts is how many step-down adverts a master that yields sends: at once,
// as it releases its VIPs ReleaseLinger later, and one and two advert intervals after
// it yielded. Clients that followed it while both were master stay on it until the
// winner hears a lower master and announces; over a lossy link one advert may not
// reach the winner.
const StepDownAdverts = 4

// stepDownDue returns when the backup sends its next step-down advert; false when it
// sends no more.
func (r *Router) stepDownDue() (time.Time, bool) {
	switch {
	case r.stepDowns == 0 || r.stepDowns >= StepDownAdverts:
		return time.Time{}, false
	case r.stepDowns == 1:
		return r.since.Add(ReleaseLinger), true
	}
	return r.since.Add(time.Duration(r.stepDowns-1) * r.cfg.AdvertInterval), true
}

// ErrConfig is wrapped by NewRouter's errors.
var ErrConfig = errors.New("invalid virtual router")

// Validate reports the first problem that makes c unusable.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("vrrp: %w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.VRID == 0:
		return bad("vrid must be 1..255")
	case c.Version != Version2 && c.Version != Version3:
		return bad("version must be 2 or 3, not %d", c.Version)
	case c.Priority == 0:
		return bad("priority must be 1..255")
	case c.AdvertInterval <= 0:
		return bad("advert interval must be positive")
	case !c.Address.IsValid():
		return bad("no primary address")
	case len(c.VIPs) == 0:
		return bad("no VIPs")
	case len(c.VIPs) > 255:
		return bad("%d VIPs, an advert carries at most 255", len(c.VIPs))
	case c.DownTimerAdverts < 0 || c.DownTimerAdverts > 100:
		return bad("down timer adverts must be 1..100")
	case c.Unicast && len(c.Peers) == 0:
		return bad("unicast without peers")
	}
	if err := checkInterval(c.Version, c.AdvertInterval); err != nil {
		return bad("advert interval: %v", err)
	}
	f := FamilyOf(c.Address)
	if c.Version == Version2 && f != IPv4 {
		return bad("VRRPv2 is IPv4 only")
	}
	for _, a := range c.VIPs {
		if FamilyOf(a) != f {
			return bad("VIP %v is not %v like the primary address %v", a, f, c.Address)
		}
	}
	for _, p := range c.Peers {
		if FamilyOf(p) != f {
			return bad("peer %v is not %v like the primary address %v", p, f, c.Address)
		}
	}
	return nil
}

// Router is the state machine of one virtual router on one interface and family
// (RFC 5798/9568 section 6.4). It is driven by Handle and never blocks, sleeps, starts
// goroutines or makes system calls. It is not safe for concurrent use.
type Router struct {
	cfg   Config
	clock Clock

	since    time.Time
	reason   string
	state    State
	priority uint8 // effective priority
	faulted  bool

	// masterAdverInterval is Master_Adver_Interval: learned from the master in VRRPv3.
	masterAdverInterval time.Duration
	// adverTimer is the Adver_Timer deadline (Master); zero when stopped.
	adverTimer time.Time
	// The Master_Down_Timer (Backup) runs from downFrom for Master_Down_Interval, or for
	// Skew_Time after a priority-0 advert. Keeping its start rather than its deadline lets
	// a change of priority or interval move the deadline, as keepalived does.
	downFrom     time.Time
	downSkewOnly bool

	// What the router heard, for status and for the reasons of transitions.
	master         netip.Addr // source of the last accepted advert
	masterPriority uint8
	lastAccepted   time.Time
	leaving        netip.Addr // source of the last priority-0 advert
	lower          netip.Addr // source of the last discarded lower-priority advert
	lowerPriority  uint8
	lowerAt        time.Time
	preemptFrom    time.Time // preempt_delay window start; zero when not running
	// answers and answeredAt are the token bucket of a master's answers to lower
	// priorities; lastAnnounce is when one last announced the VIPs.
	answers      int
	answeredAt   time.Time
	lastAnnounce time.Time
	// holdUntil is when a router that left mastership on purpose releases the VIPs it
	// kept (MakeBeforeBreak) if no other master appeared; zero when it holds none.
	holdUntil time.Time
	// graced is set from Startup until the router first hears a master or becomes one:
	// its first Skew_Time is counted over StartupGrace.
	graced bool
	// stepDowns counts the step-down adverts a backup sent since it yielded to a higher
	// master (StepDownAdvert); 0 when it sends none.
	stepDowns uint8
	// reannounces counts the announcements a master that healed a split brain (at
	// lastAnnounce) has still to make after it, at healReannounce[len-reannounces].
	reannounces uint8
	// healed says that preempted is the loser of a healed split brain (see there).
	healed bool
	// fastFrom is the master whose priority below ours armed a FastHandover, and
	// fastLowered says it was our master at a priority not below ours before.
	fastFrom    netip.Addr
	fastLowered bool
	// groupAllows is the last GroupAllowsMaster; wantMaster says that the
	// Master_Down_Timer ran out while it was false, and wantReason why.
	groupAllows bool
	wantMaster  bool
	wantReason  string
	// lowerReportedAt is when the master last reported a lower priority.
	lowerReportedAt time.Time
	// preempted is the lower master this router took over from or healed a split brain
	// with, and preemptedUntil the end of the time its adverts (those that crossed ours,
	// its step-down adverts) may still come: answered, but no new split brain. After a
	// heal (healed), only its step-down adverts are exempt: a master that goes on
	// advertising is a split brain still.
	preempted      netip.Addr
	preemptedUntil time.Time

	stats   Stats
	dropped uint64    // packets discarded, for Dropped
	last    *lastDrop // the most recent discard, nil before the first
}

// NewRouter returns a router in Initialize; Startup starts it.
func NewRouter(cfg Config, clock Clock) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DownTimerAdverts == 0 {
		cfg.DownTimerAdverts = DefaultDownTimerAdverts
	}
	r := &Router{
		cfg:                 cfg,
		clock:               clock,
		priority:            cfg.Priority,
		masterAdverInterval: cfg.AdvertInterval,
		since:               clock.Now(),
		reason:              "not started",
	}
	return r, nil
}

// Handle feeds one event to the router and returns what must be done, in order.
func (r *Router) Handle(ev Event) []Action {
	now := r.clock.Now()
	switch ev := ev.(type) {
	case Startup:
		if r.state != Initialize {
			return nil
		}
		if r.faulted {
			return r.enterFault(now, "started in fault", true)
		}
		r.graced = r.cfg.StartupGrace > 0
		acts := r.start(now, "started")
		if r.state == Backup {
			r.armDownTimer(r.firstDownFrom(now, ev), false)
		}
		return acts
	case AdvertReceived:
		return r.receive(now, ev.Packet, ev.Meta)
	case TimerFired:
		return r.expire(now)
	case PriorityChanged:
		if ev.Priority == 0 {
			return nil // 0 is not a priority a router can hold; it means leaving.
		}
		changed := ev.Priority != r.priority
		r.priority = ev.Priority
		if changed && r.state == Master {
			// At once, not at the next Adver_Timer: a backup it fell below takes over in
			// its Skew_Time (FastHandover).
			r.adverTimer = now.Add(r.cfg.AdvertInterval)
			return []Action{r.sendAdvert(r.priority)}
		}
		return nil
	case FaultRaised:
		r.faulted = true
		if r.state == Fault && ev.Immediate && !r.holdUntil.IsZero() {
			return r.release()
		}
		if r.state == Initialize || r.state == Fault {
			return nil
		}
		return r.enterFault(now, "fault: "+ev.Reason, ev.Immediate)
	case FaultCleared:
		r.faulted = false
		if r.state != Fault {
			return nil
		}
		return r.start(now, "fault cleared: "+ev.Reason)
	case Shutdown:
		return r.shutdown(now)
	case Reconfigure:
		return r.reconfigure(now, ev.Config)
	case GroupAllowsMaster, GroupMaster, GroupBackup:
		return r.groupEvent(now, ev)
	}
	return nil
}

func (r *Router) reconfigure(now time.Time, cfg Config) []Action {
	if cfg.Validate() != nil {
		return nil
	}
	if cfg.DownTimerAdverts == 0 {
		cfg.DownTimerAdverts = DefaultDownTimerAdverts
	}
	var acts []Action
	if r.state == Master {
		// First under the old configuration: no backup that has not reloaded yet may time
		// out (it drops adverts with another VIP list) while the daemon applies the rest.
		acts = append(acts, r.sendAdvert(r.priority))
	}
	lowered := false
	if r.cfg.Priority != cfg.Priority {
		lowered = cfg.Priority < r.priority
		r.priority = cfg.Priority
	}
	r.cfg = cfg
	if !cfg.SyncGroup {
		acts = append(acts, r.stopWanting()...)
	}
	if r.state == Master || r.cfg.Version == Version2 {
		r.masterAdverInterval = cfg.AdvertInterval
	}
	if r.state == Master && lowered {
		// A lowered priority is a hand-over: say it at once (FastHandover).
		r.adverTimer = now.Add(cfg.AdvertInterval)
		acts = append(acts, r.sendAdvert(r.priority))
	}
	return acts
}

// NextDeadline returns when the router next needs a TimerFired, and false when no timer
// runs.
func (r *Router) NextDeadline() (time.Time, bool) {
	var next time.Time
	switch r.state {
	case Master:
		next = r.adverTimer
		if again, ok := r.reannounceDue(); ok && again.Before(next) {
			next = again
		}
	case Backup:
		if !r.wantMaster { // a member waiting for its sync group has no timer
			next = r.downDeadline()
		}
		if due, ok := r.stepDownDue(); ok && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	if !r.holdUntil.IsZero() && (next.IsZero() || r.holdUntil.Before(next)) {
		next = r.holdUntil
	}
	return next, !next.IsZero()
}

// Holding reports whether the router keeps the VIPs of a mastership it left on purpose
// (MakeBeforeBreak) until another master appears.
func (r *Router) Holding() bool { return !r.holdUntil.IsZero() }

// leave gives up mastership on purpose: priority 0 at once, then the VIPs go, or, with
// MakeBeforeBreak and unless immediate, stay until another master is heard or
// Master_Down_Interval passes.
func (r *Router) leave(now time.Time, immediate bool) []Action {
	acts := []Action{r.sendAdvert(0)}
	if r.cfg.MakeBeforeBreak && !immediate {
		r.holdUntil = now.Add(r.MasterDownInterval())
		return append(acts, HoldVIPs{})
	}
	return append(acts, RemoveVIPs{})
}

// ReleaseLinger is how long a master that leaves or yields keeps its VIPs
// (MakeBeforeBreak) after it hears the next master's advert: the next master announces
// them after its advert, once it has added them, under a millisecond later for one
// instance.
const ReleaseLinger = 20 * time.Millisecond

// ArrivalCredit is how much earlier than its handling an advert may count as heard
// (Meta.Received). A backup's Master_Down_Timer and Skew_Time count from the advert's
// arrival: the time its reader took to wake up, up to a millisecond on an idle
// machine, would otherwise delay every takeover. Bounded, so that a reader held up for
// long by a loaded machine does not make the backup's deadlines earlier by as much.
const ArrivalCredit = 2 * time.Millisecond

// arrival is when the advert handled at now arrived: Meta.Received, within
// ArrivalCredit of now, and never before the Master_Down_Timer's last start, so that the
// router's time does not run back.
func (r *Router) arrival(now time.Time, m Meta) time.Time {
	at := m.Received
	if at.IsZero() || !at.Before(now) {
		return now
	}
	at = maxTime(at, now.Add(-ArrivalCredit))
	return minTime(maxTime(at, r.downFrom), now)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// healReannounce is when the winner of a healed split brain announces its VIPs again,
// after the heal: once the loser has released them (it may have announced them after
// the winner did, when their adverts crossed, and releases them ReleaseLinger after it
// hears the winner); and a second later, for clients that missed both bursts over a
// lossy link while the loser's announcement reached them.
var healReannounce = [...]time.Duration{2 * ReleaseLinger, time.Second}

// reannounceDue returns when a master that healed a split brain announces again; false
// when it does not.
func (r *Router) reannounceDue() (time.Time, bool) {
	if r.reannounces == 0 {
		return time.Time{}, false
	}
	return r.lastAnnounce.Add(healReannounce[len(healReannounce)-int(r.reannounces)]), true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// release ends a hold: the VIPs go.
func (r *Router) release() []Action {
	if r.holdUntil.IsZero() {
		return nil
	}
	r.holdUntil = time.Time{}
	return []Action{RemoveVIPs{}}
}

// start leaves Initialize or Fault (RFC 5798 section 6.4.1).
func (r *Router) start(now time.Time, why string) []Action {
	r.masterAdverInterval = r.cfg.AdvertInterval
	r.preemptFrom = time.Time{}
	if r.priority == 255 {
		return r.becomeMaster(now, why+": address owner (priority 255)")
	}
	r.master, r.masterPriority, r.lastAccepted = netip.Addr{}, 0, time.Time{}
	r.armDownTimer(now, false)
	return []Action{r.transition(now, Backup, why)}
}

func (r *Router) becomeMaster(now time.Time, why string) []Action {
	r.graced = false
	r.holdUntil, r.reannounces = time.Time{}, 0 // the VIPs are ours again
	r.fastFrom = netip.Addr{}
	r.masterAdverInterval = r.cfg.AdvertInterval
	r.adverTimer = now.Add(r.cfg.AdvertInterval)
	return []Action{
		r.sendAdvert(r.priority),
		AddVIPs{},
		AnnounceVIPs{},
		r.transition(now, Master, why),
	}
}

// becomeBackup yields to a master just heard. With MakeBeforeBreak the VIPs stay for
// ReleaseLinger, while the winner, whose advert came first, adds and announces them.
func (r *Router) becomeBackup(now time.Time, why string) []Action {
	r.adverTimer = time.Time{}
	r.preemptFrom = time.Time{}
	r.armDownTimer(now, false)
	if r.cfg.MakeBeforeBreak {
		r.holdUntil = now.Add(ReleaseLinger)
		return []Action{HoldVIPs{}, r.transition(now, Backup, why)}
	}
	return []Action{RemoveVIPs{}, r.transition(now, Backup, why)}
}

func (r *Router) enterFault(now time.Time, why string, immediate bool) []Action {
	r.graced = false
	acts := r.stopWanting()
	if r.state == Master {
		// Tell the backups at once instead of letting them wait Master_Down_Interval.
		acts = r.leave(now, immediate)
	}
	r.adverTimer, r.downFrom = time.Time{}, time.Time{}
	return append(acts, r.transition(now, Fault, why))
}

func (r *Router) shutdown(now time.Time) []Action {
	acts := r.stopWanting()
	switch r.state {
	case Initialize:
		return nil
	case Master:
		acts = r.leave(now, false)
	}
	r.adverTimer, r.downFrom = time.Time{}, time.Time{}
	return append(acts, r.transition(now, Initialize, "shutdown"))
}

func (r *Router) transition(now time.Time, to State, why string) Transition {
	t := Transition{From: r.state, To: to, Reason: why}
	r.state, r.since, r.reason = to, now, why
	if to != Backup {
		r.stepDowns = 0
	}
	if to != Master {
		r.reannounces = 0
	}
	r.stats.Transitions[to]++
	return t
}

func (r *Router) sendAdvert(priority uint8) SendAdvert {
	r.stats.AdvertsSent++
	if priority == 0 {
		r.stats.PriorityZeroSent++
	}
	return SendAdvert{Advert: Advertisement{
		Version:   r.cfg.Version,
		Type:      TypeAdvertisement,
		VRID:      r.cfg.VRID,
		Priority:  priority,
		Interval:  r.cfg.AdvertInterval,
		Addresses: r.cfg.VIPs,
		AuthType:  r.cfg.AuthType,
		AuthData:  r.cfg.AuthData,
	}}
}

// SkewTime returns the router's current Skew_Time.
func (r *Router) SkewTime() time.Duration {
	return SkewTime(r.cfg.Version, r.priority, r.masterAdverInterval)
}

// MasterDownInterval returns the router's current Master_Down_Interval.
func (r *Router) MasterDownInterval() time.Duration {
	return MasterDownInterval(r.cfg.Version, r.priority, r.masterAdverInterval, r.cfg.DownTimerAdverts)
}

func (r *Router) armDownTimer(now time.Time, skewOnly bool) {
	r.downFrom, r.downSkewOnly = now, skewOnly
}

func (r *Router) downDeadline() time.Time {
	if r.downSkewOnly {
		return r.downFrom.Add(r.SkewTime())
	}
	return r.downFrom.Add(r.MasterDownInterval() + r.graceExtra())
}

// graceExtra is what StartupGrace adds to the first Master_Down_Interval: the first
// Skew_Time is counted over StartupGrace when that is longer than the interval the
// skew is counted over.
func (r *Router) graceExtra() time.Duration {
	if !r.graced {
		return 0
	}
	graced := time.Duration(256-int64(r.priority)) * r.cfg.StartupGrace / 256
	return max(0, graced-r.SkewTime())
}

// firstDownFrom is where the first Master_Down_Timer counts from: when the node began
// to listen; with a grace and a known launch, as early as the launch, so that the grace
// counts from there, yet never so early that the router listens for less than a whole
// Master_Down_Interval.
func (r *Router) firstDownFrom(now time.Time, ev Startup) time.Time {
	from := now
	if !ev.Listening.IsZero() && ev.Listening.Before(from) {
		from = ev.Listening
	}
	if !ev.Launched.IsZero() && ev.Launched.Before(from) {
		if early := from.Add(-r.graceExtra()); early.After(ev.Launched) {
			return early
		}
		return ev.Launched
	}
	return from
}

func (r *Router) expire(now time.Time) []Action {
	if r.holdUntil.IsZero() || now.Before(r.holdUntil) {
		return r.expireState(now) // the master's every advert: no copy
	}
	// Nobody took over: the VIPs go anyway, as they would have without the hold.
	return append(r.release(), r.expireState(now)...)
}

func (r *Router) expireState(now time.Time) []Action {
	switch r.state {
	case Master:
		var acts []Action
		if again, ok := r.reannounceDue(); ok && !now.Before(again) {
			r.reannounces-- // lastAnnounce stays: it paces the heals
			acts = []Action{AnnounceVIPs{}}
		}
		if now.Before(r.adverTimer) {
			return acts
		}
		r.stats.AdvertLatenessMax = max(r.stats.AdvertLatenessMax, now.Sub(r.adverTimer))
		r.adverTimer = now.Add(r.cfg.AdvertInterval)
		return append([]Action{r.sendAdvert(r.priority)}, acts...)
	case Backup:
		var stepDown []Action
		if due, ok := r.stepDownDue(); ok && !now.Before(due) && now.Before(r.downDeadline()) {
			r.stepDowns++
			stepDown = []Action{r.sendAdvert(stepDownPriority)}
		}
		if r.wantMaster || now.Before(r.downDeadline()) {
			return stepDown
		}
		if wait, acts := r.groupHolds(now); wait {
			return acts
		}
		why := r.takeoverReason(now)
		r.preempted, r.preemptedUntil, r.healed = netip.Addr{}, time.Time{}, false
		if r.fastFrom.IsValid() || r.lower.IsValid() && r.lowerAt.After(r.lastAccepted) {
			r.preempted, r.preemptedUntil = r.lower, now.Add(r.MasterDownInterval())
		}
		return r.becomeMaster(now, why)
	}
	return nil
}

// takeoverReason explains why the Master_Down_Timer fired.
func (r *Router) takeoverReason(now time.Time) string {
	waited := now.Sub(r.downFrom)
	switch {
	case r.downSkewOnly && r.fastFrom.IsValid() && r.fastLowered:
		return fmt.Sprintf("master %v lowered its priority to %d, below ours %d: took over after skew time %s",
			r.fastFrom, r.lowerPriority, r.priority, seconds(waited))
	case r.downSkewOnly && r.fastFrom.IsValid():
		return fmt.Sprintf("preempted %v: its priority %d is below ours %d (took over after skew time %s)",
			r.fastFrom, r.lowerPriority, r.priority, seconds(waited))
	case r.downSkewOnly:
		return fmt.Sprintf("master %v left (priority 0), took over after skew time %s", r.leaving, seconds(waited))
	case r.lower.IsValid() && r.lowerAt.After(r.lastAccepted):
		return fmt.Sprintf("preempted %v: its priority %d is below ours %d (master down timer expired after %s)",
			r.lower, r.lowerPriority, r.priority, seconds(now.Sub(r.lastAcceptedOr(r.downFrom))))
	case r.lastAccepted.IsZero():
		return fmt.Sprintf("master down timer expired (%s without adverts since %s)", seconds(waited), "start")
	}
	return fmt.Sprintf("master down timer expired (%s without adverts from %v)", seconds(now.Sub(r.lastAccepted)), r.master)
}

func (r *Router) lastAcceptedOr(t time.Time) time.Time {
	if r.lastAccepted.IsZero() {
		return t
	}
	return r.lastAccepted
}

// Expect returns what the router requires of the adverts it accepts.
func (r *Router) Expect() Expect {
	e := Expect{
		Version:  r.cfg.Version,
		Family:   FamilyOf(r.cfg.Address),
		VRID:     r.cfg.VRID,
		IfIndex:  r.cfg.IfIndex,
		AuthType: r.cfg.AuthType,
		AuthData: r.cfg.AuthData,
		Interval: r.cfg.AdvertInterval,
		VIPs:     r.cfg.VIPs,
		Unicast:  r.cfg.Unicast,
		Source:   r.cfg.Address,
		Group:    r.cfg.Group,
	}
	if r.cfg.Unicast && r.cfg.CheckPeers {
		e.Peers = r.cfg.Peers
	}
	return e
}

// Receive is Handle(AdvertReceived{pkt, m}) without the event's allocation: a packet
// that is dropped costs no allocation at all.
func (r *Router) Receive(pkt []byte, m Meta) []Action {
	return r.receive(r.clock.Now(), pkt, m)
}

func (r *Router) receive(now time.Time, pkt []byte, m Meta) []Action {
	e := r.Expect()
	adv, d := validate(pkt, m, &e)
	if d.dropped {
		r.drop(now, m.Src, &d)
		return nil
	}
	r.stats.AdvertsReceived++
	if adv.Version == Version3 && m.Src.Is4() {
		r.stats.ChecksumForms[adv.Form]++
	}
	if adv.Priority == 0 {
		r.stats.PriorityZeroReceived++
	}
	if adv.Priority > 0 && !r.holdUntil.IsZero() {
		// Another master took over from us: its gratuitous ARP, which follows its
		// advert, moves the clients; ours go a moment later, so that no client is
		// left between the two.
		r.holdUntil = minTime(r.holdUntil, now.Add(ReleaseLinger))
	}
	switch r.state {
	case Backup:
		return r.backupReceive(r.arrival(now, m), adv, m)
	case Master:
		return r.masterReceive(now, adv, m)
	}
	return nil // Initialize and Fault ignore adverts.
}

// backupReceive is RFC 5798 section 6.4.2 with keepalived's preempt_delay.
func (r *Router) backupReceive(now time.Time, adv Received, m Meta) []Action {
	if adv.Priority == 0 {
		r.leaving = m.Src
		r.armDownTimer(now, true)
		return nil
	}
	preempt := r.cfg.Preempt || r.priority == 255
	if !preempt || adv.Priority >= r.priority {
		r.preemptFrom = time.Time{}
		r.fastFrom = netip.Addr{}
		r.accept(now, adv, m)
		return r.stopWanting()
	}
	r.lower, r.lowerPriority, r.lowerAt = m.Src, adv.Priority, now
	if r.cfg.FastHandover && r.cfg.PreemptDelay == 0 && (m.Src == r.master || !r.master.IsValid()) {
		// Its master fell below us: a hand-over, as after priority 0. The skew still
		// orders several backups. Armed once, so that its next adverts do not push the
		// takeover back.
		if r.fastFrom != m.Src {
			// Lowered: we followed it at a priority at or above ours. Else it is a master
			// that never outranked us, preempted as fast.
			r.fastLowered = m.Src == r.master && r.masterPriority >= r.priority
			r.fastFrom = m.Src
			r.leaving = m.Src
			r.armDownTimer(now, true)
		}
		return nil
	}
	if r.cfg.PreemptDelay > 0 {
		if r.preemptFrom.IsZero() {
			r.preemptFrom = now
		}
		if now.Sub(r.preemptFrom) < r.cfg.PreemptDelay {
			r.accept(now, adv, m)
			return r.stopWanting()
		}
	}
	// Discard: the Master_Down_Timer runs out and this router preempts.
	return nil
}

// accept takes adv as the current master's advert and resets the Master_Down_Timer.
func (r *Router) accept(now time.Time, adv Received, m Meta) {
	if r.outranked(now, adv, m) {
		return
	}
	r.graced = false
	if r.cfg.Version == Version3 {
		r.masterAdverInterval = adv.Interval
	}
	r.master, r.masterPriority, r.lastAccepted = m.Src, adv.Priority, now
	r.armDownTimer(now, false)
}

// outranked reports whether adv comes from a second master, below the one this backup
// follows, that would bring its Master_Down_Timer forward. Two masters are heard while
// a split brain heals; the lower one steps down once it hears the higher. Following
// whichever spoke last would let a lower master with a shorter interval set the timer,
// and its step-down then start a takeover while the higher master, advertising less
// often, is alive: a cycle that never settles if the higher one ignores lower
// priorities. So the higher master's timer stands, unless the lower one's runs longer.
func (r *Router) outranked(now time.Time, adv Received, m Meta) bool {
	if r.state != Backup || !r.master.IsValid() || m.Src == r.master || r.downSkewOnly {
		return false
	}
	if adv.Priority > r.masterPriority || adv.Priority == r.masterPriority && m.Src.Compare(r.master) > 0 {
		return false
	}
	deadline := r.downDeadline()
	if !now.Before(deadline) {
		return false
	}
	interval := r.masterAdverInterval
	if r.cfg.Version == Version3 {
		interval = adv.Interval
	}
	return now.Add(MasterDownInterval(r.cfg.Version, r.priority, interval, r.cfg.DownTimerAdverts)).Before(deadline)
}

// masterReceive is RFC 9568 section 6.4.3.
func (r *Router) masterReceive(now time.Time, adv Received, m Meta) []Action {
	if adv.Priority == 0 {
		r.adverTimer = now.Add(r.cfg.AdvertInterval)
		return []Action{r.sendAdvert(r.priority)}
	}
	higher := adv.Priority > r.priority
	if higher || adv.Priority == r.priority && m.Src.Compare(r.cfg.Address) > 0 {
		var acts []Action
		if r.cfg.StepDownAdvert {
			// Both of us were master: make sure the winner hears a lower master and
			// announces its VIPs, whichever of our adverts crossed first. Priority 1, the
			// lowest: a backup that preempts discards it, one that does not hears the
			// winner's answer right after.
			acts = append(acts, r.sendAdvert(stepDownPriority))
		}
		r.accept(now, adv, m)
		why := fmt.Sprintf("higher priority %d from %v", adv.Priority, m.Src)
		if !higher {
			why = fmt.Sprintf("equal priority %d from higher address %v", adv.Priority, m.Src)
		}
		acts = append(acts, r.becomeBackup(now, why)...)
		if r.cfg.StepDownAdvert {
			r.stepDowns = 1
		}
		return acts
	}
	var heard []Action
	if r.cfg.ReportLowerPriority && (r.lowerReportedAt.IsZero() || now.Sub(r.lowerReportedAt) >= r.cfg.AdvertInterval) {
		r.lowerReportedAt = now
		heard = []Action{LowerPriorityHeard{Peer: m.Src, Priority: adv.Priority}}
	}
	if r.cfg.LowerPriorityNoAdvert {
		return heard
	}
	if r.healed && m.Src == r.preempted && now.Before(r.preemptedUntil) && adv.Priority == stepDownPriority {
		// The loser of the split brain just healed, saying again that it stepped down:
		// the announcements after the heal (healReannounce) are on their way.
		return heard
	}
	// Assert mastership to the sender at once, and refresh learning bridges and clients
	// that followed the other master: within bounds, so that a host flooding
	// lower-priority adverts cannot turn each into an advert and a burst of gratuitous
	// ARP. A few answers per interval, the announcement once.
	if !r.takeAnswer(now) {
		return heard
	}
	r.adverTimer = now.Add(r.cfg.AdvertInterval)
	acts := []Action{r.sendAdvert(r.priority)}
	if !r.lastAnnounce.IsZero() && now.Sub(r.lastAnnounce) < r.cfg.AdvertInterval {
		return append(acts, heard...)
	}
	r.lastAnnounce = now
	acts = append(acts, AnnounceVIPs{})
	if m.Src == r.preempted && now.Before(r.preemptedUntil) && !r.healed {
		// The master this router just preempted, whose adverts crossed ours: a
		// preemption, not a split brain.
		return append(acts, heard...)
	}
	r.stats.SplitBrainsHealed++
	// The loser may announce its VIPs after us, if its advert crossed ours: clients
	// that follow the later announcement are moved back once it has released them.
	if r.cfg.StepDownAdvert {
		r.reannounces = uint8(len(healReannounce))
	}
	r.preempted, r.preemptedUntil, r.healed = m.Src, now.Add(StepDownAdverts*r.cfg.AdvertInterval), true
	return append(append(acts, SplitBrainHealed{Peer: m.Src, Priority: adv.Priority}), heard...)
}
