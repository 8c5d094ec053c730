module github.com/vrrpd/vrrpd

go 1.26.0

require (
	github.com/vishvananda/netns v0.0.5
	golang.org/x/net v0.62.0
)

require golang.org/x/sys v0.49.0
