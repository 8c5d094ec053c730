package daemon

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vrrpd/vrrpd/vrrp"
)

// dropLog says why adverts are dropped at most once per interval for each reason,
// naming the sender and detail of the drop it reports and counting the others: a
// misconfigured peer must be visible in seconds, and a flood from the LAN, from any
// number of sources, must neither flood the log nor grow memory.
type dropLog struct {
	// reasons is allocated at the first drop: most instances never see one, and it
	// takes half a kilobyte.
	reasons  *dropReasons
	lastSend time.Time
	// sendErrors counts the adverts the kernel refused to send.
	sendErrors uint64
}

// dropReasons is when each reason was last logged, and how many drops were not since.
type dropReasons struct {
	last       [vrrp.NumReasons]time.Time
	suppressed [vrrp.NumReasons]uint64
}

const dropLogInterval = 10 * time.Second

// report logs the router's last drop unless its reason was logged less than an
// interval ago; then it only counts it, without allocating.
func (l *dropLog) report(log *slog.Logger, now time.Time, r *vrrp.Router) {
	reason, _ := r.LastDropReason()
	if reason >= vrrp.NumReasons {
		return
	}
	if l.reasons == nil {
		l.reasons = new(dropReasons)
	}
	rs := l.reasons
	if t := rs.last[reason]; !t.IsZero() && now.Sub(t) < dropLogInterval {
		rs.suppressed[reason]++
		return
	}
	d := r.LastDrop()
	attrs := []any{"reason", reason.String()}
	if n := rs.suppressed[reason]; n > 0 {
		attrs = append(attrs, "more_dropped_since_last_report", n)
	}
	rs.last[reason], rs.suppressed[reason] = now, 0
	log.Warn(fmt.Sprintf("adverts from %v dropped: %s", d.From, d.Detail), attrs...)
}

// sendFailed counts an advert that could not be sent, and logs it at most once per
// interval.
func (l *dropLog) sendFailed(log *slog.Logger, now time.Time, dst netip.Addr, err error) {
	l.sendErrors++
	if now.Sub(l.lastSend) < dropLogInterval {
		return
	}
	l.lastSend = now
	log.Error("cannot send advert", "to", dst.String(), "error", err)
}
