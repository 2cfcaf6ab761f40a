//! The attachment extractors, through their worker process: a message
//! with one PDF or office attachment, indexed. The index process must
//! answer whatever the file does to the worker (a crash, a hang, memory);
//! this binary is also the worker (`extract-worker` on its command line).
#![no_main]
libfuzzer_sys::fuzz_target!(
    init: archimap::fuzzing::extract_worker_main(),
    |data: &[u8]| archimap::fuzzing::extract_attachment(data)
);
