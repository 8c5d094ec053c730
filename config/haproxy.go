package config

import (
	"errors"
	"fmt"
	"strings"
)

// HAProxyRule says which HAProxy objects must be up for an haproxy check to pass: all of
// Objects, or with Any at least one. A rule of one object is all() of it.
type HAProxyRule struct {
	Any     bool
	Objects []HAProxyObject
}

// HAProxyObject is a backend (b:NAME) or a frontend (f:NAME) in a rule.
type HAProxyObject struct {
	Frontend bool
	Name     string
}

// String returns the object as written in a rule: b:NAME or f:NAME.
func (o HAProxyObject) String() string {
	if o.Frontend {
		return "f:" + o.Name
	}
	return "b:" + o.Name
}

// String returns the rule in the form ParseHAProxyRule reads: b:NAME, f:NAME,
// all(...) or any(...).
func (r HAProxyRule) String() string {
	if len(r.Objects) == 1 && !r.Any {
		return r.Objects[0].String()
	}
	items := make([]string, len(r.Objects))
	for i, o := range r.Objects {
		items[i] = o.String()
	}
	op := "all"
	if r.Any {
		op = "any"
	}
	return op + "(" + strings.Join(items, ",") + ")"
}

// ErrHAProxyRule is wrapped by the errors of ParseHAProxyRule.
var ErrHAProxyRule = errors.New("bad haproxy rule")

// ParseHAProxyRule reads a rule: a single object, b:NAME (a backend) or f:NAME (a
// frontend), or all(o1,o2,...) or any(o1,o2,...) of such objects. Spaces around items
// are allowed; rules do not nest. It is the one parser of rules: the tracker evaluates
// what it returns.
func ParseHAProxyRule(s string) (HAProxyRule, error) {
	s = strings.TrimSpace(s)
	var r HAProxyRule
	inner, list := "", false
	for _, op := range []string{"all", "any"} {
		if rest, ok := strings.CutPrefix(s, op); ok && strings.HasPrefix(strings.TrimSpace(rest), "(") {
			rest = strings.TrimSpace(rest)
			if !strings.HasSuffix(rest, ")") {
				return r, fmt.Errorf("%w: %s( is not closed by )", ErrHAProxyRule, op)
			}
			inner, list, r.Any = rest[1:len(rest)-1], true, op == "any"
			break
		}
	}
	if !list {
		if op, _, ok := strings.Cut(s, "("); ok {
			return r, fmt.Errorf("%w: %q is not an operator: write all(...) or any(...)", ErrHAProxyRule, strings.TrimSpace(op))
		}
		o, err := parseHAProxyObject(s)
		if err != nil {
			return r, err
		}
		r.Objects = []HAProxyObject{o}
		return r, nil
	}
	seen := make(map[HAProxyObject]bool)
	for item := range strings.SplitSeq(inner, ",") {
		o, err := parseHAProxyObject(strings.TrimSpace(item))
		if err != nil {
			return r, err
		}
		if seen[o] {
			return r, fmt.Errorf("%w: %v is listed twice", ErrHAProxyRule, o)
		}
		seen[o] = true
		r.Objects = append(r.Objects, o)
	}
	return r, nil
}

func parseHAProxyObject(s string) (HAProxyObject, error) {
	kind, name, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		return HAProxyObject{}, fmt.Errorf("%w: an item is empty", ErrHAProxyRule)
	case strings.ContainsAny(s, "()"):
		return HAProxyObject{}, fmt.Errorf("%w: %q: rules do not nest; list b:NAME and f:NAME items", ErrHAProxyRule, s)
	case !ok || kind != "b" && kind != "f":
		return HAProxyObject{}, fmt.Errorf("%w: %q is neither b:BACKEND nor f:FRONTEND", ErrHAProxyRule, s)
	case name == "" || strings.ContainsAny(name, ", \t"):
		return HAProxyObject{}, fmt.Errorf("%w: %q has no proxy name", ErrHAProxyRule, s)
	}
	return HAProxyObject{Frontend: kind == "f", Name: name}, nil
}
