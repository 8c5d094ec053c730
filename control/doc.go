// Package control is the protocol of vrrpd's control socket: the status and events a
// running daemon reports, the server that answers on the unix socket, and the client
// that `vrrpd show`, `events`, `is-master` and `metrics` use.
//
// The socket speaks JSON lines. The client sends one request, {"command": "show"},
// and the server answers with one Status ("show"), a stream of Events until the client
// hangs up ("events"), or the Prometheus text exposition in one object ("metrics").
// Anything else is answered with {"error": "..."}.
//
// The package imports nothing of the engine (daemon, netops, vrrp): the daemon serves
// it through Source, and a client links only this package.
package control
