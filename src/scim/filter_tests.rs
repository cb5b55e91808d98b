//! Table-driven tests of the filter parser.
