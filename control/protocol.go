package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// request is what a client sends: one JSON line.
type request struct {
	Command string `json:"command"`
}

// Commands of the control protocol.
const (
	commandShow    = "show"
	commandEvents  = "events"
	commandMetrics = "metrics"
)

// maxRequest bounds a request line: anything longer is not one of ours.
const maxRequest = 4096

// parseRequest decodes one request line, which anyone allowed to open the socket can
// send: it must be one JSON object naming a known command.
func parseRequest(line []byte) (request, error) {
	if len(line) > maxRequest {
		return request{}, fmt.Errorf("request of %d bytes, at most %d", len(line), maxRequest)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return request{}, fmt.Errorf("bad request: %w", err)
	}
	if dec.More() {
		return request{}, errors.New("bad request: more than one JSON value")
	}
	switch req.Command {
	case commandShow, commandEvents, commandMetrics:
		return req, nil
	}
	return request{}, fmt.Errorf("unknown command %q", req.Command)
}

// errorReply is the server's answer to a request it cannot serve.
type errorReply struct {
	Error string `json:"error"`
}

// metricsReply carries the Prometheus text exposition.
type metricsReply struct {
	Metrics string `json:"metrics"`
}

// writeJSON writes v as one JSON line, with <, > and & as they are: the lines are read
// by people and scripts, never embedded in HTML.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
