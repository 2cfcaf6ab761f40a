//! Command framing and parsing: lines, literals, the extension layer
//! (LIST-EXTENDED, ACL, ESEARCH rewriting) and imap-codec.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| archimap::fuzzing::imap_frames(data));
