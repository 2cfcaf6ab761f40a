//! TODO: tests of the folders functions.
