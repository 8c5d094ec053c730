package metrics

import "runtime"

// buildInfo is vrrpd_build_info: always 1, with the version of vrrpd and of Go as
// labels, which vrrpd metrics prints too.
func buildInfo(version string) *family {
	// The labels, in the order client_golang sorts them, are the same at every
	// scrape: written out once.
	labels := appendLabel([]byte{'{'}, "goversion", runtime.Version())
	labels = appendLabel(append(labels, ','), "version", version)
	return newFamily("vrrpd_build_info", "Always 1, with the version of vrrpd and the Go version it was built with.", gauge,
		func(t *textWriter, f *family, v *view) {
			t.begin(f)
			t.buf = append(t.buf, labels...)
			t.closeLabels()
			t.value(1)
		})
}
