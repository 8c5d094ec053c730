package keepalived

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzConvert feeds arbitrary text to the reader and the converter: it must not panic,
// a failure must be an Errors with a place for each problem, and a success must be
// YAML. The corpus in testdata/fuzz/FuzzConvert holds small configurations that reach
// the reader's corners; the fixtures in testdata are added as seeds.
func FuzzConvert(f *testing.F) {
	confs, _ := filepath.Glob("testdata/*.conf")
	errConfs, _ := filepath.Glob("testdata/errors/*.conf")
	for _, conf := range append(confs, errConfs...) {
		if data, err := os.ReadFile(conf); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := noFiles()
		opts.ConfigID = "lb1"
		res, err := ConvertBytes("fuzz.conf", data, opts)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v is not an Errors", err)
			}
			for _, e := range errs {
				if e.Pos.Line == 0 && e.Pos.File != "" {
					t.Errorf("%q has no line", e.Error())
				}
			}
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, res.YAML)
		}
	})
}
