package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// maxRequest bounds a request's line and header fields together. A scrape's is a few
// hundred bytes; net/http allows a megabyte, which a node has no reason to hold for
// every connection a stranger opens.
const maxRequest = 8 << 10

// request is what the endpoint reads of a request: it has no body.
type request struct {
	method  string
	path    string // decoded, without the query
	version string
	header  textproto.MIMEHeader
}

// refusal is a request the endpoint answers with an error status, and no more.
type refusal struct {
	status int
	reason string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("metrics: request refused (%d): %s", r.status, r.reason)
}

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, reason: fmt.Sprintf(format, args...)}
}

// readRequest reads a request's line and header fields from r, an HTTP/1.0 or 1.1
// request without a body. One that is malformed, too large or has a body is a
// *refusal; any other error is the connection's, which is closed without an answer
// (the client went away or sent nothing in time).
func readRequest(r io.Reader) (*request, error) {
	lr := &io.LimitedReader{R: r, N: maxRequest}
	tp := textproto.NewReader(bufio.NewReader(lr))
	// The limit reads as an end of file, which may cut a line short: whatever
	// textproto or the parser make of it, the request is too large.
	cut := func(err error) error {
		if lr.N == 0 {
			return refuse(statusHeaderTooLarge, "request line and header fields over %d bytes", maxRequest)
		}
		return err
	}
	line, err := tp.ReadLine()
	if err != nil {
		return nil, cut(err)
	}
	req, err := parseRequestLine(line)
	if err != nil {
		return nil, cut(err)
	}
	req.header, err = tp.ReadMIMEHeader()
	if err != nil {
		if _, ok := errors.AsType[textproto.ProtocolError](cut(err)); ok {
			return nil, refuse(statusBadRequest, "%v", err)
		}
		return nil, cut(err)
	}
	if err := req.checkHeader(); err != nil {
		return nil, err
	}
	return req, nil
}

// parseRequestLine parses "method target version", the target in origin form.
func parseRequestLine(line string) (*request, error) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) {
		return nil, refuse(statusBadRequest, "malformed request line %q", line)
	}
	// HTTP/2's preface, "PRI * HTTP/2.0", among others: the endpoint speaks HTTP/1.x
	// only, and Prometheus speaks it.
	if version != "HTTP/1.1" && version != "HTTP/1.0" {
		return nil, refuse(statusBadRequest, "version %q is not HTTP/1.0 or HTTP/1.1", version)
	}
	// The origin form, which a client sends to a server that is not a proxy.
	raw, _, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(raw, "/") || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, refuse(statusBadRequest, "request target %q is not a path", target)
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return nil, refuse(statusBadRequest, "request target %q: %v", target, err)
	}
	return &request{method: method, path: path, version: version}, nil
}

// checkHeader refuses a field that is not one, a request with a body, which the
// endpoint would not read, and an HTTP/1.1 one without a single Host, as RFC 9112
// asks.
func (r *request) checkHeader() error {
	h := r.header
	// textproto lets a name with a space through, and net/http does not.
	for name, values := range h {
		if !isToken(name) {
			return refuse(statusBadRequest, "field name %q", name)
		}
		for _, v := range values {
			if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				return refuse(statusBadRequest, "field %s: value %q", name, v)
			}
		}
	}
	if _, ok := h["Transfer-Encoding"]; ok {
		return refuse(statusBadRequest, "a body (Transfer-Encoding)")
	}
	for _, v := range h["Content-Length"] {
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63); err != nil || n > 0 {
			return refuse(statusBadRequest, "a body (Content-Length %q)", v)
		}
	}
	if r.version == "HTTP/1.1" && len(h["Host"]) != 1 {
		return refuse(statusBadRequest, "%d Host fields", len(h["Host"]))
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token, as a method is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c >= 0x80 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
