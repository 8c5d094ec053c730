package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
)

func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`")
	offline := fs.Bool("offline", false, "skip the checks against this machine's interfaces")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var host config.Host
	if !*offline {
		host = hostAddrs{exclude: stateVIPs(*cfgPath)}
	}
	cfg, err := loadChecked(*cfgPath, host)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, w.String())
	}
	fmt.Fprintf(stdout, "%s: OK, %d instances\n", cfg.File, len(cfg.Instances))
	return 0
}

// loadChecked loads the file and, with a host, checks it against the machine. Every
// problem is in the returned config.Problems.
func loadChecked(path string, host config.Host) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if host == nil {
		return cfg, nil
	}
	probs := config.Check(cfg, host)
	if errs := errorsOnly(probs); len(errs) > 0 {
		return nil, errs
	}
	cfg.Warnings = append(cfg.Warnings, probs...)
	return cfg, nil
}

func errorsOnly(probs config.Problems) config.Problems {
	return slices.DeleteFunc(slices.Clone(probs), func(p config.Problem) bool { return p.Warning })
}

// hostAddrs is the machine's interfaces as config.Check sees them: the node's own
// addresses, without the VIPs vrrpd holds (marked in the kernel, and those exclude
// returns, for kernels that keep no marks).
type hostAddrs struct {
	exclude func() []netops.VIP
}

func (h hostAddrs) Addrs(ifname string) ([]netip.Addr, error) {
	var held []netops.VIP
	if h.exclude != nil {
		held = h.exclude()
	}
	addrs, err := netops.NodeAddrs(ifname, held)
	if errors.Is(err, netops.ErrNoInterface) {
		return nil, fmt.Errorf("%w: %s", config.ErrNoInterface, ifname)
	}
	return addrs, err
}

// stateVIPs reads the VIPs a running daemon holds from the state file named by the
// configuration, so that `check` on a live master does not take them for node addresses.
func stateVIPs(cfgPath string) func() []netops.VIP {
	return func() []netops.VIP {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil
		}
		vips, _ := netops.ReadVIPState(cfg.StateFile)
		return vips
	}
}
