# Sourced by the benchmark scripts.
#
# write_section REPORT SECTION: puts SECTION (markdown whose first line is
# its "## " heading) into REPORT in place of the section with that heading
# (up to the next "## " heading), or appends it. With WRITE=0 it only
# prints SECTION.
write_section() {
    local report=$1 section=$2 heading text
    if [ "${WRITE:-1}" = 0 ]; then
        printf '%s\n' "$section"
        return
    fi
    heading=$(printf '%s\n' "$section" | head -1)
    text=$(mktemp)
    printf '%s\n' "$section" > "$text"
    [ -f "$report" ] || printf '# Benchmarks\n' > "$report"
    awk -v section="$text" -v heading="$heading" '
        function insert() { while ((getline line < section) > 0) print line; done = 1 }
        /^## / { if (skip) print ""; skip = ($0 == heading); if (skip) insert() }
        !skip { print }
        END { if (!done) { print ""; insert() } }
    ' "$report" > "$report.new"
    mv "$report.new" "$report"
    rm -f "$text"
    echo "wrote the ${heading#\#\# } section of $report" >&2
}
