#!/bin/sh
# Prints the package version of the checkout, which deb and rpm both order rightly:
# X.Y.Z at the tag vX.Y.Z, X.Y.Z+N.gHASH N commits after it, 0.0.0+N.gHASH before any
# tag (N counts every commit), with .dirty when the work tree has changes.
set -eu
dirty=
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	dirty=.dirty
fi
if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
	# vX.Y.Z-N-gHASH
	hash=${desc##*-}
	rest=${desc%-*}
	n=${rest##*-}
	tag=${rest%-*}
	version=${tag#v}
	if [ "$n" != 0 ]; then
		version=$version+$n.$hash
	fi
elif n=$(git rev-list --count HEAD 2>/dev/null); then
	version=0.0.0+$n.g$(git rev-parse --short HEAD)
else
	version=0.0.0
fi
echo "$version$dirty"
