package config

import (
	"os"
	"strings"
	"testing"
)

// TestManPageKeys keeps vrrpd.yaml(5) in step with the parser: every key of every
// mapping is there, in bold as the page writes keys.
func TestManPageKeys(t *testing.T) {
	page, err := os.ReadFile("../docs/man/vrrpd.yaml.5.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][]string{
		"top level": topKeys, "metrics": metricsKeys, "instances": instanceKeys, "garp": garpKeys, "scripts": scriptKeys,
		"processes": processKeys, "files": fileKeys, "haproxy": haproxyKeys, "unicast": unicastKeys,
		"peers": peerKeys, "auth": authKeys, "vips": vipKeys, "track": trackKeys, "track entries": trackIfKeys,
		"notify": notifyKeys, "bgp": bgpKeys, "bgp peers": bgpPeerKeys, "bfd": bfdKeys, "bfd sessions": bfdSessionKeys, "routes": routeKeys,
		"route address": routeAddrKeys, "on_failure": onFailureKeys, "instance routes": virtualRouteKeys, "instance rules": virtualRuleKeys,
		"sync_groups": syncGroupKeys, "vmac": vmacKeys,
	}
	for table, keys := range tables {
		for _, k := range keys {
			if !strings.Contains(string(page), "**"+k+"**") {
				t.Errorf("vrrpd.yaml(5) does not describe %s key %s", table, k)
			}
		}
	}
	for _, want := range []string{DefaultPath, DefaultSocket, DefaultStateFile, "**" + DefaultSocketGroup + "**", "**" + DefaultScriptUser + "**"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("vrrpd.yaml(5) does not give the default %s", want)
		}
	}
}
