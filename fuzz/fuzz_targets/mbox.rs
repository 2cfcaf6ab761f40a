//! The mbox reader: splitting and both unquoting rules.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| archimap::fuzzing::mbox(data));
