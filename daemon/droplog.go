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
	last       [vrrp.NumReasons]time.Time
	suppressed [vrrp.NumReasons]uint64
	lastSend   time.Time
}

const dropLogInterval = 10 * time.Second

// report logs the router's last drop unless its reason was logged less than an
// interval ago; then it only counts it, without allocating.
func (l *dropLog) report(log *slog.Logger, now time.Time, r *vrrp.Router) {
	reason, _ := r.LastDropReason()
	if reason >= vrrp.NumReasons {
		return
	}
	if t := l.last[reason]; !t.IsZero() && now.Sub(t) < dropLogInterval {
		l.suppressed[reason]++
		return
	}
	d := r.LastDrop()
	attrs := []any{"reason", reason.String()}
	if n := l.suppressed[reason]; n > 0 {
		attrs = append(attrs, "more_dropped_since_last_report", n)
	}
	l.last[reason], l.suppressed[reason] = now, 0
	log.Warn(fmt.Sprintf("adverts from %v dropped: %s", d.From, d.Detail), attrs...)
}

func (l *dropLog) sendFailed(log *slog.Logger, now time.Time, dst netip.Addr, err error) {
	if now.Sub(l.lastSend) < dropLogInterval {
		return
	}
	l.lastSend = now
	log.Error("cannot send advert", "to", dst.String(), "error", err)
}
