#!/bin/sh
# Prints the changelog of the package in nfpm's format (chglog): one entry, for the
# commit it is built from, whose changes are in the git history.
# Usage: changelog.sh PACKAGE-VERSION MAINTAINER
set -eu
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
date=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
cat <<EOT
- semver: "$1"
  date: $date
  packager: "$2"
  deb:
    urgency: medium
    distributions: [unstable]
  changes:
    - commit: $commit
      note: "Built from commit $commit."
EOT
