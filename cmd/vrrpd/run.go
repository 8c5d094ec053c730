package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/control"
	"github.com/vrrpd/vrrpd/daemon"
	"github.com/vrrpd/vrrpd/metrics"
)

// stopTimeout bounds a shutdown: priority 0, VIP removal and stop hooks.
const stopTimeout = 20 * time.Second

// runSignals, when main made it, has received runSignalSet since the process started.
var runSignals chan os.Signal

// runSignalSet are the signals the daemon acts on: reload, and stop.
var runSignalSet = []os.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT}

// launched is when this process started, as near as it can tell: the instances'
// startup grace counts from here, so that nodes started together elect the highest
// priority however long each takes to read its configuration.
var launched = time.Now()

func runDaemon(args []string, stdout, stderr io.Writer) int {
	// A SIGHUP or SIGTERM while starting must not end the process by the default action,
	// without cleanup: signals that arrive while starting wait for the daemon.
	sigs := runSignals
	if sigs == nil {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, runSignalSet...)
	}
	defer signal.Stop(sigs)

	fs := newFlagSet("run", "vrrpd run [--config FILE] [--log-level LEVEL] [--log-format text|json]",
		"Runs the daemon in the foreground; it needs CAP_NET_ADMIN and CAP_NET_RAW.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	format := fs.String("log-format", "text", "log `format`: text or json")
	if _, code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 2
	}
	if missing := missingCapabilities(); len(missing) > 0 {
		fmt.Fprintf(stderr, "vrrpd: run needs %s (run as root, or grant them: the systemd unit does)\n", strings.Join(missing, " and "))
		return 1
	}
	cfg, err := loadChecked(*cfgPath, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log = log.With("node", cfg.Node)
	setHeapGrowth(startingGrowth)

	// One vrrpd per state directory, decided before anything touches the kernel: a
	// second copy started by mistake must change nothing.
	lock, err := lockStateDir(filepath.Dir(cfg.StateFile))
	if err != nil {
		fmt.Fprintln(stderr, "vrrpd:", err)
		return 1
	}
	defer lock.release()

	sys, err := daemon.NewLinuxSystem(cfg.StateFile, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer sys.Close()
	// Problems that need the machine, now that the VIPs a crash left are gone.
	if _, err := sys.VIPs.CleanStale(); err != nil { // each removal is logged
		log.Error("cannot remove VIPs left by an earlier run", "error", err)
	}
	if _, err := sys.Routes.CleanStale(); err != nil {
		log.Error("cannot remove routes or rules left by an earlier run", "error", err)
	}
	// The virtual MAC interfaces this configuration has stay: the instances take them
	// as they are.
	if _, err := sys.Links.CleanStale(daemon.VMACNames(cfg)); err != nil {
		log.Error("cannot remove virtual MAC interfaces left by an earlier run", "error", err)
	}
	if probs := errorsOnly(config.Check(cfg, hostAddrs{exclude: sys.VIPs.Owned})); len(probs) > 0 {
		fmt.Fprintln(stderr, probs.Error())
		return 1
	}

	d, err := daemon.New(cfg, sys.System, daemon.Options{Version: version, Log: log, Launched: launched})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	exp, err := metrics.NewExporter(d.Status, version)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	if m := cfg.Metrics; m != nil {
		srv, err := metrics.Listen(m.Listen, m.Path, exp, log)
		if err != nil {
			log.Error("cannot start", "error", err)
			return 1
		}
		defer srv.Close()
		log.Info("serving metrics", "address", srv.Addr().String(), "path", m.Path)
	}
	ctl, err := control.Listen(cfg.Socket, d, control.Options{
		Group:   cfg.SocketGroup,
		Metrics: exp.WriteText,
	})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer ctl.Close()
	cfg.ForgetPositions()
	tune := newTuning(log)
	defer tune.close()
	tune.apply(cfg)
	if err := d.Start(); err != nil {
		log.Error("some instances did not start", "error", err)
	}
	// Tighter only once the first elections are over: collections during a thousand
	// takeovers at once slowed them enough for a peer started with them to take some.
	tighten := time.AfterFunc(firstElections(cfg), func() { setHeapGrowth(runningGrowth) })
	defer tighten.Stop()
	// Starting a thousand instances leaves garbage behind: give it back to the system
	// now rather than over minutes.
	debug.FreeOSMemory()
	log.Info("vrrpd started", "version", version, "config", cfg.File, "instances", len(cfg.Instances))
	notify(log, sd.SdNotifyReady)
	stopWatchdog := watchdog(log, d)
	defer stopWatchdog()

	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			notify(log, sd.SdNotifyReloading+"\n"+sd.SdNotifyMonotonicUsec())
			reload(log, d, *cfgPath, hostAddrs{exclude: sys.VIPs.Owned}, cfg, tune)
			debug.FreeOSMemory()
			notify(log, sd.SdNotifyReady)
		default:
			log.Info("stopping", "signal", sig.String())
			notify(log, sd.SdNotifyStopping)
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			d.Stop(ctx)
			cancel()
			log.Info("stopped")
			return 0
		}
	}
	return 0
}

// reload validates the file first: a bad one is logged, problem by problem, and the
// running configuration stays untouched. Settings read only at start (the control
// socket, the metrics endpoint) keep those of started, with a warning if they changed.
func reload(log *slog.Logger, d *daemon.Daemon, path string, host config.Host, started *config.Config, tune *tuning) {
	cfg, err := loadChecked(path, host)
	if err != nil {
		d.ReloadRefused()
		var probs config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				log.Error("reload refused, keeping the running configuration", "problem", p.String())
			}
		} else {
			log.Error("reload refused, keeping the running configuration", "error", err)
		}
		return
	}
	if cfg.Socket != started.Socket || cfg.SocketGroup != started.SocketGroup {
		log.Warn("socket and socket_group change at the next restart", "socket", started.Socket)
	}
	if !sameMetrics(cfg.Metrics, started.Metrics) {
		log.Warn("metrics change at the next restart")
	}
	cfg.ForgetPositions()
	tune.apply(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := d.Reload(ctx, cfg); err != nil {
		log.Error("reload incomplete", "error", err)
	}
}

// sameMetrics reports whether a and b configure the same metrics endpoint.
func sameMetrics(a, b *config.Metrics) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Listen == b.Listen && a.Path == b.Path
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is neither text nor json", format)
}

func notify(log *slog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		log.Warn("sd_notify failed", "error", err)
	}
}

// watchdog pings systemd's watchdog while the daemon answers status requests, which
// needs every instance loop to be responsive.
func watchdog(log *slog.Logger, d *daemon.Daemon) func() {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				d.Status()
				notify(log, sd.SdNotifyWatchdog)
			}
		}
	}()
	return func() { close(done) }
}
