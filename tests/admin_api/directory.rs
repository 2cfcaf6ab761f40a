//! TODO: tests of the directory functions.
