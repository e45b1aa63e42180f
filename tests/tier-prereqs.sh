#!/bin/sh
# Print the prerequisites of the named make targets (test tiers), as make's database lists them, one per line.
# Usage: tests/tier-prereqs.sh TIER...   (RUN_MAKE overrides `make`)
# `make test` builds them all first, so tiers run side by side never build the same file at once.
RUN_MAKE=${RUN_MAKE:-make}
$RUN_MAKE -pq --no-print-directory 2>/dev/null | awk -v want=" $* " '
    /^# Not a target/ { skip = 1; next }
    /^[a-z0-9-]+: *[A-Za-z_][A-Za-z0-9_]* *[:+?!]*= / { skip = 0; next }    # a target-specific variable
    /^[a-z0-9-]+:/ && !skip {
        name = $1; sub(/:$/, "", name)
        if (index(want, " " name " ")) for (i = 2; i <= NF; i++) if ($i != "|") print $i
    }
    { skip = 0 }' | sort -u
