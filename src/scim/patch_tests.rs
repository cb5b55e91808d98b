//! Table-driven tests of the PATCH engine.
