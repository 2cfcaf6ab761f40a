//! TODO: tests of the stores functions.
