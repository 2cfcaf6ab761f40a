# Sourced by the benchmark scripts.
#
# bench_binary: the archimap binary to measure, copied to $WORK/archimap
# (others may rebuild target/ while a benchmark runs): the release build of
# the checkout, or $BIN when given. Sets BIN to the copy and `build` to how
# it was made, for the report. Needs REPO and WORK.
bench_binary() {
    if [ -z "${BIN:-}" ]; then
        (cd "$REPO" && cargo build --release)
        BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/archimap
        build="\`cargo build --release\` of commit $(git -C "$REPO" rev-parse --short HEAD)"
    else
        build="\`$BIN\` (given as BIN)"
    fi
    git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock || build+=" plus uncommitted changes"
    cp "$BIN" "$WORK/archimap"
    BIN=$WORK/archimap
}
