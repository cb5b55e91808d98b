//! SQLite's own allocations, routed to mimalloc.
//!
//! The server gives Rust's allocations to mimalloc (see `main.rs`); SQLite
//! still called glibc malloc directly, through two shared arenas and, with
//! SQLite's default memory statistics, one process-wide mutex around every
//! allocation. In the writer thread that was about a tenth of the time of a
//! create. mimalloc's per-thread heaps need no lock, and SQLite's statistics
//! are not read anywhere here.

use std::ffi::{c_int, c_void};

use rusqlite::ffi;

unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
    // SAFETY: SQLite never asks for a negative size; treat one as zero.
    unsafe { libmimalloc_sys::mi_malloc(usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: `p` came from `malloc`/`realloc` above (or is null).
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as for `malloc` and `free`.
    unsafe { libmimalloc_sys::mi_realloc(p, usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from `malloc`/`realloc` above.
    c_int::try_from(unsafe { libmimalloc_sys::mi_usable_size(p) }).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn roundup(n: c_int) -> c_int {
    let wanted = usize::try_from(n).unwrap_or(0);
    // SAFETY: a pure size computation.
    c_int::try_from(unsafe { libmimalloc_sys::mi_good_size(wanted) }).unwrap_or(n)
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

/// Makes SQLite allocate with mimalloc and stop keeping memory statistics.
/// Must run before SQLite is first used in this process (before any
/// connection opens); returns false, changing nothing, if it is too late.
pub fn use_mimalloc() -> bool {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: sqlite3_config copies the methods struct; before
    // sqlite3_initialize it is the documented way to set the allocator, and
    // after it SQLite refuses with SQLITE_MISUSE without changing anything.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods) == ffi::SQLITE_OK
            && ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == ffi::SQLITE_OK
    }
}
