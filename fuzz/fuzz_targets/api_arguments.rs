//! The admin API's form decoding and argument checks, for every function.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| archimap::fuzzing::api_arguments(data));
