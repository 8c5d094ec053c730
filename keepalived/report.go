package keepalived

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a configuration file: the file's name as Convert opened it (the
// main file as given, included files joined to its directory) and a 1-based line.
type Pos struct {
	File string
	Line int
}

// String formats p as file:line.
func (p Pos) String() string {
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// NoteKind says what a Note is about.
type NoteKind int

const (
	// NotConverted marks a setting, or a whole block, that the output does not carry:
	// vrrpd has no equivalent, or keepalived itself ignores it.
	NotConverted NoteKind = iota
	// Changed marks a setting that was converted with a difference the reader should
	// know about: a default written out, a value keepalived would have adjusted, a
	// command rewritten to run without keepalived's $PATH search.
	Changed
)

// Note is one thing the conversion could not carry over as it was. Notes do not stop
// the conversion: the output is still written.
type Note struct {
	Pos  Pos
	Kind NoteKind
	// What names the setting, as written in the file ("use_vmac", "vrrp_sync_group G1").
	What string
	// Why says what happened and, where there is one, what to do.
	Why string
}

// String formats n as "file:line: WHAT not converted: WHY" or "file:line: WHAT: WHY".
func (n Note) String() string {
	if n.Kind == NotConverted {
		return fmt.Sprintf("%v: %s not converted: %s", n.Pos, n.What, n.Why)
	}
	return fmt.Sprintf("%v: %s: %s", n.Pos, n.What, n.Why)
}

// Sentinel errors that every *ConfigError wraps one of; test with errors.Is.
var (
	// ErrRefused marks a configuration that keepalived would refuse to run (a missing
	// virtual_router_id, unbalanced braces, an instance without an interface or VIP), or
	// an include convert cannot read.
	ErrRefused = errors.New("keepalived would refuse this configuration")
	// ErrUnsupported marks a construct of keepalived's reader that convert does not
	// expand ($NAME= definitions, ~SEQ, @id lines without a config id), so that it cannot
	// know what keepalived would read.
	ErrUnsupported = errors.New("not supported by convert")
)

// ConfigError is one problem that stops the conversion, at its place in the file.
type ConfigError struct {
	Pos Pos
	Msg string
	// Err is ErrRefused or ErrUnsupported, or an error reading an included file.
	Err error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%v: %s", e.Pos, e.Msg) }

// Unwrap returns the kind of problem, for errors.Is.
func (e *ConfigError) Unwrap() error { return e.Err }

// Errors is every problem that stopped a conversion, in file order. Convert returns it
// as its error; errors.Is finds ErrRefused or ErrUnsupported in it.
type Errors []*ConfigError

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so that errors.Is and errors.As look into each.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// report collects the notes and errors of one conversion.
type report struct {
	notes []Note
	errs  Errors
	// order is each file's rank in reading order, for sorting across includes.
	order map[string]int
}

func (r *report) fileRank(file string) int {
	if r.order == nil {
		r.order = make(map[string]int)
	}
	if rank, ok := r.order[file]; ok {
		return rank
	}
	r.order[file] = len(r.order)
	return r.order[file]
}

// skip records a setting that is not converted.
func (r *report) skip(pos Pos, what, format string, args ...any) {
	r.notes = append(r.notes, Note{Pos: pos, Kind: NotConverted, What: what, Why: fmt.Sprintf(format, args...)})
}

// change records a setting converted with a difference worth knowing.
func (r *report) change(pos Pos, what, format string, args ...any) {
	r.notes = append(r.notes, Note{Pos: pos, Kind: Changed, What: what, Why: fmt.Sprintf(format, args...)})
}

// refuse records a problem keepalived would refuse to run with.
func (r *report) refuse(pos Pos, format string, args ...any) {
	r.errs = append(r.errs, &ConfigError{Pos: pos, Msg: fmt.Sprintf(format, args...), Err: ErrRefused})
}

// unsupported records a construct convert cannot read.
func (r *report) unsupported(pos Pos, format string, args ...any) {
	r.errs = append(r.errs, &ConfigError{Pos: pos, Msg: fmt.Sprintf(format, args...), Err: ErrUnsupported})
}

// sorted returns the notes in reading order (file, then line), keeping the order in
// which notes about one line were made.
func (r *report) sorted() []Note {
	notes := slices.Clone(r.notes)
	slices.SortStableFunc(notes, func(a, b Note) int {
		return cmp.Or(cmp.Compare(r.fileRank(a.Pos.File), r.fileRank(b.Pos.File)), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
	return slices.CompactFunc(notes, func(a, b Note) bool { return a == b })
}

func (r *report) sortedErrors() Errors {
	errs := slices.Clone(r.errs)
	slices.SortStableFunc(errs, func(a, b *ConfigError) int {
		return cmp.Or(cmp.Compare(r.fileRank(a.Pos.File), r.fileRank(b.Pos.File)), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
	return errs
}
