package keepalived

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// whiteSpace is what keepalived splits words at.
const whiteSpace = " \t\f\n\r\v"

// maxIncludeDepth bounds nested includes, so that a file including itself stops.
const maxIncludeDepth = 32

// line is one statement of keepalived.conf as keepalived's reader yields it: comments
// removed, and cut at every brace outside double quotes, so that "{" and "}" are lines
// of their own.
type line struct {
	pos Pos
	// text is the statement; commands are split from it again, with quotes and escapes.
	text string
	// words are the statement split as keepalived splits keywords and values.
	words []string
}

// lexer reads a configuration file and the files it includes into lines.
type lexer struct {
	opts  *Options
	rep   *report
	lines []line
}

// readFile appends the lines of the file name, reached by an include at from (the zero
// Pos for the main file). An error is returned only for the main file; a problem with
// an included one is reported at the include.
func (lx *lexer) readFile(name string, from Pos, depth int) error {
	data, err := lx.opts.readFile(name)
	if err != nil {
		if from == (Pos{}) {
			return fmt.Errorf("keepalived: %w", err)
		}
		msg := fmt.Sprintf("include %s: %v", name, err)
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("include %s: no such file (keepalived logs \"Config files missing\" and goes on without it; "+
				"convert stops, since it cannot convert what it cannot read)", name)
		}
		lx.rep.errs = append(lx.rep.errs, &ConfigError{Pos: from, Msg: msg, Err: errors.Join(ErrRefused, err)})
		return nil
	}
	lx.rep.fileRank(name)
	lx.readData(name, data, depth)
	return nil
}

// readData appends the lines of data, the contents of the file name.
func (lx *lexer) readData(name string, data []byte, depth int) {
	physical := strings.Split(string(data), "\n")
	// A multi-line parameter definition ($NAME= ... \) goes on while lines end with \.
	inDefinition := false
	for i, raw := range physical {
		pos := Pos{File: name, Line: i + 1}
		raw = strings.TrimRight(raw, "\r")
		text, cont, unterminated := decomment(raw)
		if inDefinition {
			inDefinition = cont
			continue
		}
		if unterminated {
			lx.rep.change(pos, "quote", "a \" is not closed on this line; keepalived reads the rest of the line as quoted")
		}
		if text == "" {
			continue
		}
		if !utf8.ValidString(text) {
			lx.rep.unsupported(pos, "the line is not valid UTF-8 text, which vrrpd's YAML must be; write it in UTF-8")
			continue
		}
		text, keep := lx.conditional(pos, text)
		if !keep {
			continue
		}
		switch {
		case isDefinition(text):
			lx.rep.unsupported(pos, "parameter definition %s: convert does not expand keepalived's $NAME= parameters; "+
				"expand them by hand, or give convert the file keepalived reads after substitution", strings.TrimSpace(strings.SplitN(text, "=", 2)[0]))
			inDefinition = cont
			continue
		case strings.HasPrefix(text, "~"):
			lx.rep.unsupported(pos, "%s: convert does not expand keepalived's ~SEQ and ~LST lines; write the lines out by hand",
				strings.FieldsFunc(text, func(r rune) bool { return r == '(' || r == ' ' || r == '\t' })[0])
			continue
		}
		if name := predefined(text); name != "" {
			lx.rep.unsupported(pos, "parameter %s: convert does not substitute keepalived's predefined parameters; write the value by hand", name)
			continue
		}
		if words, _ := splitWords(text); len(words) == 2 && isInclude(words[0]) {
			lx.include(pos, name, words[1], depth)
			continue
		}
		for _, piece := range splitBraces(text) {
			words, unmatched := splitWords(piece)
			if unmatched {
				lx.rep.change(pos, "quote", "a \" is not closed; keepalived drops the unquoted word, and so does convert")
			}
			if len(words) > 0 {
				lx.lines = append(lx.lines, line{pos: pos, text: piece, words: words})
			}
		}
	}
}

// conditional applies keepalived's "@id line" and "@^id line" prefixes: the line is kept
// when the id matches Options.ConfigID (or, with @^, when it does not). Without a
// config id the line is reported and dropped.
func (lx *lexer) conditional(pos Pos, text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "@")
	if !ok {
		return text, true
	}
	rest, negate := strings.CutPrefix(rest, "^")
	i := strings.IndexAny(rest, " \t")
	if i < 0 {
		return "", false // keepalived drops a condition with nothing after it
	}
	id, after := rest[:i], strings.TrimLeft(rest[i:], " \t")
	if lx.opts.ConfigID == "" {
		lx.rep.unsupported(pos, "conditional line @%s: keepalived keeps or drops it by its config id (-i, the host name by default); "+
			"run convert with --config-id ID for the node being converted", id)
		return "", false
	}
	if (id == lx.opts.ConfigID) == negate {
		return "", false
	}
	return after, true
}

// include reads the files that pattern names, relative to the directory of the file
// holding the include. A pattern with wildcards that matches nothing is noted, as
// keepalived goes on without it; a plain name that does not exist stops the conversion.
func (lx *lexer) include(pos Pos, from, pattern string, depth int) {
	if depth >= maxIncludeDepth {
		lx.rep.unsupported(pos, "include %s: includes nested more than %d deep (does a file include itself?)", pattern, maxIncludeDepth)
		return
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	if !strings.ContainsAny(pattern, "*?[{") {
		_ = lx.readFile(pattern, pos, depth+1) // problems are reported at pos
		return
	}
	var names []string
	for _, p := range expandBraces(pattern) {
		matches, err := lx.opts.glob(p)
		if err != nil {
			lx.rep.refuse(pos, "include %s: %v", pattern, err)
			return
		}
		if len(matches) == 0 && !strings.ContainsAny(p, "*?[") {
			lx.rep.skip(pos, "include "+p, "no such file; keepalived reads the other files of the pattern")
		}
		names = append(names, matches...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		lx.rep.skip(pos, "include "+pattern, "no file matches; keepalived reads nothing here either")
		return
	}
	for _, name := range names {
		_ = lx.readFile(name, pos, depth+1) // problems are reported at pos
	}
}

// isInclude reports whether word is keepalived's include keyword or one of its
// variants, which differ only in how they report missing files.
func isInclude(word string) bool {
	switch word {
	case "include", "includet", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

// decomment removes a comment (from # or ! outside double quotes to the end of the
// line) and the white space around the text, and turns \# and \! outside quotes into #
// and !, as keepalived does. cont reports a trailing \ (a continued line);
// unterminated, a double quote left open.
func decomment(s string) (text string, cont, unterminated bool) {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	quote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\' && i+1 == len(s):
			// keepalived keeps the \ after trimming: only a parameter definition
			// continues on the next line.
			return strings.TrimRight(b.String(), " \t") + "\\", true, quote
		case c == '\\' && !quote && (s[i+1] == '#' || s[i+1] == '!'):
			i++
			c = s[i]
		case c == '\\':
			b.WriteByte(c)
			i++
			c = s[i]
		case !quote && (c == '#' || c == '!'):
			return strings.TrimRight(b.String(), " \t"), false, quote
		}
		b.WriteByte(c)
	}
	return strings.TrimRight(b.String(), " \t"), false, quote
}

// isDefinition reports whether text defines a keepalived parameter: $NAME=VALUE, the
// name a letter or _ then letters, digits and _.
func isDefinition(text string) bool {
	if len(text) < 2 || text[0] != '$' || !(isAlpha(text[1]) || text[1] == '_') {
		return false
	}
	i := 2
	for i < len(text) && (isAlpha(text[i]) || isDigit(text[i]) || text[i] == '_') {
		i++
	}
	rest := strings.TrimLeft(text[i:], " \t")
	return strings.HasPrefix(rest, "=")
}

// predefinedNames are the parameters keepalived defines itself and substitutes even in
// a file that defines none.
var predefinedNames = []string{"_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"}

// predefined returns the first of keepalived's predefined parameters that text uses as
// $NAME or ${NAME}, or "".
func predefined(text string) string {
	for i := strings.IndexByte(text, '$'); i >= 0 && i+1 < len(text); {
		rest := strings.TrimPrefix(text[i+1:], "{")
		for _, name := range predefinedNames {
			if after, ok := strings.CutPrefix(rest, name); ok {
				if after == "" || strings.ContainsRune(" \t,)} ", rune(after[0])) {
					return "$" + name
				}
			}
		}
		j := strings.IndexByte(text[i+1:], '$')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return ""
}

// splitBraces cuts text before and after each { and } that is outside double quotes,
// as keepalived's reader does, so that each brace is a line of its own.
func splitBraces(text string) []string {
	var pieces []string
	for text != "" {
		i := braceIndex(text)
		switch {
		case i < 0:
			pieces = append(pieces, text)
			text = ""
		case i == 0:
			pieces = append(pieces, text[:1])
			text = strings.TrimLeft(text[1:], " \t")
		default:
			pieces = append(pieces, strings.TrimRight(text[:i], " \t"))
			text = text[i:]
		}
	}
	return pieces
}

// braceIndex returns the index of the first { or } outside double quotes, or -1. Like
// keepalived, it stops looking at a quote that is not closed.
func braceIndex(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '}':
			return i
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return -1
			}
			i += j + 1
		}
	}
	return -1
}

// splitWords splits s into words as keepalived splits a keyword line: at white space,
// with a word that starts with " running to the next " (the quotes removed). A word
// whose closing quote is missing is dropped, as keepalived drops it; unmatched says so.
func splitWords(s string) (words []string, unmatched bool) {
	for {
		s = strings.TrimLeft(s, whiteSpace)
		if s == "" {
			return words, false
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return words, true
			}
			words = append(words, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, whiteSpace+`"`)
		if end < 0 {
			end = len(s)
		}
		words = append(words, s[:end])
		s = s[end:]
	}
}

// expandBraces expands csh-style {a,b} alternatives in a glob pattern, as glob(3) does
// with GLOB_BRACE. Nested braces are expanded from the outside in.
func expandBraces(pattern string) []string {
	open := strings.IndexByte(pattern, '{')
	if open < 0 {
		return []string{pattern}
	}
	depth, close := 0, -1
	var commas []int
	for i := open; i < len(pattern) && close < 0; i++ {
		switch pattern[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				close = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if close < 0 {
		return []string{pattern} // an unclosed brace is a literal character
	}
	head, tail := pattern[:open], pattern[close+1:]
	start := open + 1
	var out []string
	for _, end := range append(commas, close) {
		out = append(out, expandBraces(head+pattern[start:end]+tail)...)
		start = end + 1
	}
	return out
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
