package keepalived

import (
	"strconv"
	"strings"
	"time"
)

// parseUint reads a whole number in lo..hi written as keepalived's read_unsigned wants
// it: decimal digits only (white space around them allowed, as in a quoted "  5").
func parseUint(s string, lo, hi int) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || int(v) < lo || int(v) > hi {
		return 0, false
	}
	return int(v), true
}

// parseInt reads a signed whole number in lo..hi.
func parseInt(s string, lo, hi int) (int, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || int(v) < lo || int(v) > hi {
		return 0, false
	}
	return int(v), true
}

// parseSeconds reads a decimal number of seconds such as 1, 0.5 or 2.71828, to the
// microsecond as keepalived reads timers, in 0..hi.
func parseSeconds(s string, hi time.Duration) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || strings.Trim(whole+frac, "0123456789") != "" || len(frac) > 6 {
		return 0, false
	}
	var d time.Duration
	if whole != "" {
		w, err := strconv.ParseUint(whole, 10, 32)
		if err != nil {
			return 0, false
		}
		d = time.Duration(w) * time.Second
	}
	if frac != "" {
		f, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
		d += time.Duration(f) * time.Microsecond
	}
	if d > hi {
		return 0, false
	}
	return d, true
}

// atLeastMinTimer returns d, or vrrpd's shortest delay for a d between 0 and it, noting
// the change at pos.
func (cv *converter) atLeastMinTimer(d time.Duration, pos Pos, what string) time.Duration {
	if d <= 0 || d >= minTimer {
		return d
	}
	cv.rep.change(pos, what+" "+formatDuration(d), "vrrpd's shortest delay is %s; written as %s", formatDuration(minTimer),
		formatDuration(minTimer))
	return minTimer
}

// parseBool reads keepalived's <BOOL>: on, off, true, false, yes or no.
func parseBool(s string) (bool, bool) {
	switch s {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// optionalBool reads the optional <BOOL> after a flag keyword such as vrrp_min_garp:
// absent means true. ok is false for a word that is not a <BOOL>.
func optionalBool(n *node) (v, ok bool) {
	if len(n.words) < 2 {
		return true, true
	}
	return parseBool(n.words[1])
}

// formatDuration writes d as a Go duration in its largest exact unit: 5s, 500ms, 1.5s.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0 && d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// seconds formats a whole number of seconds for messages.
func seconds(n int) string { return formatDuration(time.Duration(n) * time.Second) }

// clamp returns v within lo..hi.
func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }
