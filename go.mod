module github.com/vrrpd/vrrpd

go 1.26
