package metrics

import (
	"io"
	"net"
	"strconv"
	"time"
)

// The statuses the endpoint answers with.
const (
	statusOK               = 200
	statusBadRequest       = 400
	statusNotFound         = 404
	statusMethodNotAllowed = 405
	statusHeaderTooLarge   = 431
	statusInternalError    = 500
	statusUnavailable      = 503
)

const (
	// dateFormat is RFC 9110's IMF-fixdate, the form of the Date field.
	dateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"
	// textPlain is the type of an error's text.
	textPlain = "text/plain; charset=utf-8"
)

func statusText(status int) string {
	switch status {
	case statusOK:
		return "OK"
	case statusBadRequest:
		return "Bad Request"
	case statusNotFound:
		return "Not Found"
	case statusMethodNotAllowed:
		return "Method Not Allowed"
	case statusHeaderTooLarge:
		return "Request Header Fields Too Large"
	case statusInternalError:
		return "Internal Server Error"
	case statusUnavailable:
		return "Service Unavailable"
	}
	return "Status " + strconv.Itoa(status)
}

// response is an answer of the endpoint: a refusal's text, known before its header is
// sent, so that it has a Content-Length, or a scrape's header, its body streamed after
// it and ended by the connection's close (RFC 9112, 6.3). The connection closes after
// either.
type response struct {
	status      int
	contentType string
	encoding    string // Content-Encoding, if any
	vary        bool   // the body depends on Accept-Encoding
	allow       string // Allow, for a method refused
	body        []byte
	// streamed says that the body follows the header as it is written: no
	// Content-Length; chunked, that it is sent in chunks.
	streamed, chunked bool
}

// textResponse is an error with its text as the body, as net/http's http.Error sends
// it, which scrapers show.
func textResponse(status int, text string) response {
	return response{status: status, contentType: textPlain, body: []byte(text + "\n")}
}

// write sends the response on w, the body only if withBody: a HEAD request has the
// header alone, the Content-Length of a GET's body among it.
func (r *response) write(w io.Writer, withBody bool) error {
	h := make([]byte, 0, 256)
	h = append(h, "HTTP/1.1 "...)
	h = strconv.AppendInt(h, int64(r.status), 10)
	h = append(h, ' ')
	h = append(h, statusText(r.status)...)
	h = append(h, "\r\nDate: "...)
	h = time.Now().UTC().AppendFormat(h, dateFormat)
	h = field(h, "Content-Type", r.contentType)
	// The body is never to be read as anything but its Content-Type.
	h = field(h, "X-Content-Type-Options", "nosniff")
	if r.encoding != "" {
		h = field(h, "Content-Encoding", r.encoding)
	}
	if r.vary {
		h = field(h, "Vary", "Accept-Encoding")
	}
	if r.allow != "" {
		h = field(h, "Allow", r.allow)
	}
	switch {
	case r.chunked:
		h = field(h, "Transfer-Encoding", "chunked")
	case !r.streamed:
		h = field(h, "Content-Length", strconv.Itoa(len(r.body)))
	}
	// One request a connection: Prometheus scrapes a target every few seconds at the
	// most, and a connection kept open between scrapes would hold memory for nothing.
	h = field(h, "Connection", "close")
	h = append(h, "\r\n\r\n"...)
	out := net.Buffers{h}
	if withBody && len(r.body) > 0 {
		out = append(out, r.body)
	}
	_, err := out.WriteTo(w)
	return err
}

func field(h []byte, name, value string) []byte {
	h = append(h, "\r\n"...)
	h = append(h, name...)
	h = append(h, ": "...)
	return append(h, value...)
}
