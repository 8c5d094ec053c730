package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
)

// ErrDaemon wraps an error the daemon answered with, such as a command it does not
// serve.
var ErrDaemon = errors.New("vrrpd answered")

// dial connects to the daemon's control socket and sends a command. The connection's
// deadline is ctx's.
func dial(ctx context.Context, path, command string) (net.Conn, error) {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot reach vrrpd at %s (is it running?): %w", path, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := writeJSON(c, request{Command: command}); err != nil {
		c.Close()
		return nil, fmt.Errorf("vrrpd at %s: %w", path, err)
	}
	return c, nil
}

// decodeReply reads one reply into v, or the error the daemon answered instead.
func decodeReply(dec *json.Decoder, v any) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	// No reply but an error has the key "error".
	var e struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != nil {
		return nil, fmt.Errorf("%w: %s", ErrDaemon, *e.Error)
	}
	return raw, json.Unmarshal(raw, v)
}

// QueryStatus asks the daemon listening on path for its status.
func QueryStatus(ctx context.Context, path string) (Status, error) {
	c, err := dial(ctx, path, commandShow)
	if err != nil {
		return Status{}, err
	}
	defer c.Close()
	var st Status
	if _, err := decodeReply(json.NewDecoder(c), &st); err != nil {
		return Status{}, fmt.Errorf("status from %s: %w", path, err)
	}
	return st, nil
}

// QueryMetrics asks the daemon listening on path for its metrics, in the Prometheus
// text exposition format.
func QueryMetrics(ctx context.Context, path string) (string, error) {
	c, err := dial(ctx, path, commandMetrics)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var m metricsReply
	if _, err := decodeReply(json.NewDecoder(c), &m); err != nil {
		return "", fmt.Errorf("metrics from %s: %w", path, err)
	}
	return m.Metrics, nil
}

// FollowEvents streams the daemon's events to fn, each with the JSON line it came as,
// until ctx ends (nil), the daemon goes, or fn returns an error.
func FollowEvents(ctx context.Context, path string, fn func(Event, json.RawMessage) error) error {
	c, err := dial(context.WithoutCancel(ctx), path, commandEvents)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	dec := json.NewDecoder(c)
	for {
		var e Event
		raw, err := decodeReply(dec, &e)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events from %s: %w", path, err)
		}
		if err := fn(e, raw); err != nil {
			return err
		}
	}
}
