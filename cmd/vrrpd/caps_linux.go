package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// missingCapabilities returns the capabilities `run` needs that the process lacks.
func missingCapabilities() []string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil // cannot tell: let the first socket say
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil
		}
		var missing []string
		const netAdmin, netRaw = 12, 13
		if eff&(1<<netAdmin) == 0 {
			missing = append(missing, "CAP_NET_ADMIN")
		}
		if eff&(1<<netRaw) == 0 {
			missing = append(missing, "CAP_NET_RAW")
		}
		return missing
	}
	return nil
}
