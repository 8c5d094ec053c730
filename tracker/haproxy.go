package tracker

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/vrrpd/vrrpd/config"
)

// haproxyTracker asks HAProxy's Runtime API for `show stat` every interval and
// evaluates a rule over backends and frontends. A backend is up while at least one of
// its servers is; a frontend while it is OPEN. An unreachable socket or an answer
// that is not the stats CSV counts as failing.
type haproxyTracker struct {
	base
	env *Env
	cfg config.HAProxy
}

func newHAProxyTracker(h config.HAProxy, env *Env, log *slog.Logger, notify func()) *haproxyTracker {
	return &haproxyTracker{base: newBase(KindHAProxy, h.Name, env, log, notify), env: env, cfg: h}
}

func (t *haproxyTracker) start(ctx context.Context, wg *sync.WaitGroup) {
	t.begin()
	wg.Go(func() { t.run(ctx) })
}

// run polls at once, then every interval from the start of the previous poll.
func (t *haproxyTracker) run(ctx context.Context) {
	for {
		started := t.env.Clock()
		state, detail, objects := t.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		t.st.Objects = objects
		t.mu.Unlock()
		t.set(state, 0, detail)
		wait := max(t.cfg.Interval-t.env.Clock().Sub(started), 0)
		select {
		case <-ctx.Done():
			return
		case <-t.env.After(wait):
		}
	}
}

// haproxyAnswerMax bounds the answer read: `show stat` of a few thousand servers.
const haproxyAnswerMax = 16 << 20

// poll asks for the stats and evaluates the rule, with the state of each object.
func (t *haproxyTracker) poll(ctx context.Context) (State, string, []ObjectStatus) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	answer, err := showStat(ctx, t.cfg.Socket)
	if err != nil {
		return Failing, err.Error(), t.allDown(err.Error())
	}
	stats, err := parseShowStat(answer)
	if err != nil {
		return Failing, err.Error(), t.allDown(err.Error())
	}
	state, detail := evaluate(t.cfg.Rule, stats)
	objects := make([]ObjectStatus, len(t.cfg.Rule.Objects))
	for i, o := range t.cfg.Rule.Objects {
		up, why := objectUp(o, stats[o.Name])
		objects[i] = ObjectStatus{Object: o, Up: up, Detail: why}
	}
	return state, detail, objects
}

// allDown is every object of the rule, down for the reason given.
func (t *haproxyTracker) allDown(why string) []ObjectStatus {
	objects := make([]ObjectStatus, len(t.cfg.Rule.Objects))
	for i, o := range t.cfg.Rule.Objects {
		objects[i] = ObjectStatus{Object: o, Detail: why}
	}
	return objects
}

// showStat sends `show stat` to the Runtime API at socket (a unix socket path or
// host:port) and returns the answer, read until HAProxy closes the connection.
func showStat(ctx context.Context, socket string) ([]byte, error) {
	network := "tcp"
	if strings.HasPrefix(socket, "/") {
		network = "unix"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, socket)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", socket, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, fmt.Errorf("%s: send: %w", socket, err)
	}
	answer, err := io.ReadAll(io.LimitReader(conn, haproxyAnswerMax))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", socket, err)
	}
	return answer, nil
}

// proxyStats is what `show stat` says of one proxy name.
type proxyStats struct {
	frontend string // the status of its FRONTEND row; "" without one
	backend  bool   // it has a BACKEND row
	servers  int
	up       int // servers up
}

// errNotStats is wrapped by parseShowStat's error for an answer that is not the CSV.
var errNotStats = errors.New("not the output of show stat")

// parseShowStat reads the CSV of `show stat`: a header line "# pxname,svname,...",
// then one row per frontend (svname FRONTEND), backend (BACKEND) and server.
func parseShowStat(answer []byte) (map[string]*proxyStats, error) {
	header, rows, ok := bytes.Cut(answer, []byte("\n"))
	if !ok || !bytes.HasPrefix(header, []byte("# ")) {
		first := strings.TrimSpace(string(header))
		if len(first) > 80 {
			first = first[:80] + "…"
		}
		if first == "" {
			return nil, fmt.Errorf("%w: empty answer", errNotStats)
		}
		return nil, fmt.Errorf("%w: %q", errNotStats, first)
	}
	cols := strings.Split(strings.TrimSpace(string(header[2:])), ",")
	col := func(name string) int {
		for i, c := range cols {
			if c == name {
				return i
			}
		}
		return -1
	}
	px, sv, status := col("pxname"), col("svname"), col("status")
	if px < 0 || sv < 0 || status < 0 {
		return nil, fmt.Errorf("%w: no pxname, svname or status column", errNotStats)
	}
	r := csv.NewReader(bytes.NewReader(rows))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	stats := make(map[string]*proxyStats)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNotStats, err)
		}
		if len(rec) <= max(px, sv, status) {
			continue
		}
		p := stats[rec[px]]
		if p == nil {
			p = &proxyStats{}
			stats[rec[px]] = p
		}
		switch st := rec[status]; rec[sv] {
		case "FRONTEND":
			p.frontend = st
		case "BACKEND":
			p.backend = true
		default:
			p.servers++
			if serverUp(st) {
				p.up++
			}
		}
	}
	return stats, nil
}

// serverUp reports whether a server with status st takes traffic: "UP", "UP 1/3"
// (failing checks, not yet down), or "no check" (no health check: HAProxy sends it
// traffic). DOWN, MAINT, DRAIN and NOLB do not count.
func serverUp(st string) bool {
	return strings.HasPrefix(st, "UP") || st == "no check"
}

// evaluate applies a rule to the stats and says why:
// "be_app DOWN (0/2 UP), be_static UP (2/2 UP)".
func evaluate(rule config.HAProxyRule, stats map[string]*proxyStats) (State, string) {
	ups := 0
	parts := make([]string, 0, len(rule.Objects))
	for _, o := range rule.Objects {
		up, why := objectUp(o, stats[o.Name])
		if up {
			ups++
		}
		parts = append(parts, why)
	}
	ok := ups == len(rule.Objects)
	if rule.Any {
		ok = ups > 0
	}
	if ok {
		return OK, strings.Join(parts, ", ")
	}
	return Failing, strings.Join(parts, ", ")
}

func objectUp(o config.HAProxyObject, p *proxyStats) (bool, string) {
	switch {
	case o.Frontend && (p == nil || p.frontend == ""):
		return false, fmt.Sprintf("frontend %s not found", o.Name)
	case o.Frontend:
		return p.frontend == "OPEN", o.Name + " " + p.frontend
	case p == nil || !p.backend && p.servers == 0:
		return false, fmt.Sprintf("backend %s not found", o.Name)
	case p.up > 0:
		return true, fmt.Sprintf("%s UP (%d/%d UP)", o.Name, p.up, p.servers)
	}
	return false, fmt.Sprintf("%s DOWN (%d/%d UP)", o.Name, p.up, p.servers)
}
