//! SQLite's process-wide settings, made before its first use.

use std::ffi::c_int;

use rusqlite::ffi;

/// Turns off SQLite's memory statistics. With them on (SQLite's default),
/// every allocation SQLite makes takes one process-wide mutex, shared by
/// the writer and every reader; nothing here reads those statistics.
/// Must run before SQLite is first used in this process (before any
/// connection opens); returns false, changing nothing, if it is too late.
pub fn skip_memory_statistics() -> bool {
    // SAFETY: sqlite3_config before sqlite3_initialize is the documented way
    // to set this; after it SQLite refuses with SQLITE_MISUSE, changing nothing.
    unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == ffi::SQLITE_OK }
}
