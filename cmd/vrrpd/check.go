package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/user"
	"path/filepath"
	"slices"

	"github.com/vrrpd/vrrpd/config"
	"github.com/vrrpd/vrrpd/netops"
	"github.com/vrrpd/vrrpd/rhi/process"
)

func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "vrrpd check [--offline] [--config FILE | FILE]",
		"Validates the configuration (default "+config.DefaultPath+") and exits 0, or prints every problem\n"+
			"with its file:line:column and exits 1.", stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration `file`; or name it as an argument")
	offline := fs.Bool("offline", false, "skip the checks against this machine's interfaces")
	files, code, ok := parseArgs(fs, args, 1, stdout)
	if !ok {
		return code
	}
	if len(files) == 1 {
		if isSet(fs, "config") && filepath.Clean(*cfgPath) != filepath.Clean(files[0]) {
			return usageError(fs, "--config %s and %s name two files: check one at a time", *cfgPath, files[0])
		}
		*cfgPath = files[0]
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

// LookupGroup tells whether the group exists, in /etc/group or through NSS.
func (hostAddrs) LookupGroup(name string) error {
	_, err := user.LookupGroup(name)
	if errors.As(err, new(user.UnknownGroupError)) {
		return fmt.Errorf("%w: %s", config.ErrNoGroup, name)
	}
	return err
}

// BGPSpeaker finds vrrpd-bgp where vrrpd would start it from.
func (hostAddrs) BGPSpeaker() error {
	_, err := process.Path()
	return err
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
