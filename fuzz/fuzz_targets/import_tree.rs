//! The Maildir, Maildir++ and EML tree readers: a directory tree (names,
//! layouts, flags in file names, symbolic links) planned for import and
//! every planned message read.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| archimap::fuzzing::import_tree(data));
