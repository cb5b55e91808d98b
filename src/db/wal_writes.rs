//! One `write` per transaction to the WAL file instead of two per page.
//!
//! SQLite appends a committed transaction to the WAL as frames, each written
//! with two `pwrite` calls: a 24-byte frame header, then the page. A create
//! through SCIM dirties about four pages, so a batch of eight creates made
//! 64 system calls that each went through ext4's write path, about half of
//! the writer thread's time. This VFS wraps SQLite's default ("unix") and,
//! for WAL files only, gathers contiguous frames in memory and writes them
//! with one call when the transaction's commit frame is complete.
//!
//! Why this keeps SQLite's guarantees:
//! - the commit frame's page is written before its `xWrite` returns, so the
//!   commit is in the file before SQLite publishes it in the WAL index (where
//!   readers learn of it), exactly as without buffering; a failed write is
//!   reported by that `xWrite`, so SQLite rolls back as usual;
//! - everything buffered is written before any other operation on the file
//!   (read, sync, truncate, size, file control, close, or a write that does
//!   not continue the buffer), so SQLite never observes the buffer;
//! - only the exact pattern above is buffered (a 24-byte header of a new
//!   frame, past everything this handle wrote, then its page right after
//!   it); anything else, such as SQLite rewriting the headers of frames it
//!   overwrote in the same transaction, passes through.

use std::ffi::{c_int, c_void, CStr};
use std::mem::{align_of, size_of};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name the wrapping VFS is registered under (as SQLite's default).
pub const VFS_NAME: &CStr = c"scim-wal-writes";

const WAL_HEADER_BYTES: i64 = 32;
const FRAME_HEADER_BYTES: usize = 24;
/// A transaction larger than this (a bulk import) is written in pieces.
const MAX_BUFFERED_BYTES: usize = 4 << 20;
/// The unix VFS writes at most 128 KiB - 1 bytes per call: it masks the
/// length with 0x1ffff (`seekAndWriteFd`), so a longer write would fail.
const MAX_WRITE_BYTES: usize = 0x1ffff;

/// The file object SQLite allocates for a WAL file: ours first (SQLite only
/// reads `base`), then the default VFS's own file object at `real`.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    buffered: Vec<u8>,
    /// File offset of `buffered[0]`.
    buffered_at: i64,
    /// The frame header that ends the buffer, waiting for its page, and
    /// whether it is a commit frame (its "database size" field is not 0).
    open_frame: Option<(i64, bool)>,
    /// The end of everything this handle wrote since the WAL last restarted
    /// (at open: the file's size). New frames are appended at or past it;
    /// a header written before it rewrites a frame of this transaction
    /// (SQLite does so after the commit frame, when it recomputes
    /// checksums), is not followed by a page, and so is never buffered.
    frontier: i64,
}

struct Registered {
    vfs: ffi::sqlite3_vfs,
    /// SQLite's default VFS, which does the actual work.
    real: *mut ffi::sqlite3_vfs,
}

// SAFETY: both are written once, before registration, and only read after;
// SQLite's VFS objects are process-wide and used from every thread.
unsafe impl Send for Registered {}
unsafe impl Sync for Registered {}

static REGISTERED: OnceLock<Option<Box<Registered>>> = OnceLock::new();

thread_local! {
    /// Writes this thread made to WAL files through the default VFS (for tests).
    static WAL_WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Writes the calling thread has made to WAL files so far.
pub fn wal_writes_on_this_thread() -> u64 {
    WAL_WRITES.with(|c| c.get())
}

/// Registers the wrapping VFS as SQLite's default, once per process. Returns
/// false (and SQLite keeps its own default) if SQLite has no default VFS.
pub fn register() -> bool {
    REGISTERED
        .get_or_init(|| {
            // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS or NULL.
            let real = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
            if real.is_null() {
                return None;
            }
            // SAFETY: `real` is a live VFS object that SQLite never frees.
            let mut vfs = unsafe { ptr::read(real) };
            vfs.szOsFile = (real_offset() + unsafe { (*real).szOsFile } as usize) as c_int;
            vfs.pNext = ptr::null_mut();
            vfs.zName = VFS_NAME.as_ptr();
            vfs.xOpen = Some(open);
            // Every other method is the default VFS's own, called with this
            // object, which carries the same `pAppData` and `mxPathname`.
            let mut registered = Box::new(Registered { vfs, real });
            // SAFETY: the Box lives in a static for the rest of the process.
            let rc = unsafe { ffi::sqlite3_vfs_register(&mut registered.vfs, 1) };
            (rc == ffi::SQLITE_OK).then_some(registered)
        })
        .is_some()
}

/// Where the default VFS's file object starts inside ours.
const fn real_offset() -> usize {
    let align = align_of::<u64>();
    size_of::<WalFile>().div_ceil(align) * align
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    match REGISTERED.get() {
        Some(Some(r)) => r.real,
        _ => ptr::null_mut(),
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = real_vfs();
    // SAFETY: `real_vfs` was found at registration and is never freed.
    let Some(real_open) = (unsafe { real_vfs.as_ref() }).and_then(|v| v.xOpen) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a WAL file: the default VFS's file object fills ours directly
        // (it is at least as large as the default VFS asks for).
        // SAFETY: arguments as SQLite passed them.
        return unsafe { real_open(real_vfs, name, file, flags, out_flags) };
    }
    // SAFETY: SQLite gave us `szOsFile` bytes at `file`, so the default
    // VFS's object fits at `real_offset()`.
    let real = unsafe { file.cast::<u8>().add(real_offset()) }.cast::<ffi::sqlite3_file>();
    // SAFETY: `real` is the default VFS's file object, uninitialised as xOpen expects.
    unsafe { (*real).pMethods = ptr::null() };
    let rc = unsafe { real_open(real_vfs, name, real, flags, out_flags) };
    // SAFETY: `real` was just handed to xOpen.
    if unsafe { (*real).pMethods }.is_null() {
        // SAFETY: a NULL pMethods tells SQLite not to call xClose.
        unsafe { (*file).pMethods = ptr::null() };
        return rc;
    }
    let methods: &'static ffi::sqlite3_io_methods = io_methods(unsafe { (*(*real).pMethods).iVersion });
    let mut size = i64::MAX;
    if let Some(file_size) = unsafe { (*(*real).pMethods).xFileSize } {
        // SAFETY: `real` is open; on failure nothing is buffered until the WAL restarts.
        if unsafe { file_size(real, &mut size) } != ffi::SQLITE_OK {
            size = i64::MAX;
        }
    }
    let wal = WalFile {
        base: ffi::sqlite3_file { pMethods: methods },
        real,
        buffered: Vec::new(),
        buffered_at: 0,
        open_frame: None,
        frontier: size,
    };
    // SAFETY: `file` has room for a WalFile before `real`, and is aligned for it by SQLite (8 bytes).
    unsafe { ptr::write(file.cast::<WalFile>(), wal) };
    rc
}

/// The WAL file's methods, one table per version the default VFS reports.
fn io_methods(version: c_int) -> &'static ffi::sqlite3_io_methods {
    static TABLES: OnceLock<[ffi::sqlite3_io_methods; 3]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let table = |v: c_int| ffi::sqlite3_io_methods {
            iVersion: v,
            xClose: Some(close),
            xRead: Some(read),
            xWrite: Some(write),
            xTruncate: Some(truncate),
            xSync: Some(sync),
            xFileSize: Some(file_size),
            xLock: Some(lock),
            xUnlock: Some(unlock),
            xCheckReservedLock: Some(check_reserved_lock),
            xFileControl: Some(file_control),
            xSectorSize: Some(sector_size),
            xDeviceCharacteristics: Some(device_characteristics),
            xShmMap: (v >= 2).then_some(shm_map as _),
            xShmLock: (v >= 2).then_some(shm_lock as _),
            xShmBarrier: (v >= 2).then_some(shm_barrier as _),
            xShmUnmap: (v >= 2).then_some(shm_unmap as _),
            xFetch: (v >= 3).then_some(fetch as _),
            xUnfetch: (v >= 3).then_some(unfetch as _),
        };
        [table(1), table(2), table(3)]
    });
    &tables[(version.clamp(1, 3) - 1) as usize]
}

/// # Safety
/// `file` must be a WAL file opened by `open` and not yet closed.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    // SAFETY: per the function's contract.
    unsafe { &mut *file.cast::<WalFile>() }
}

/// The default VFS's methods for this file.
fn real_methods(wal: &WalFile) -> &ffi::sqlite3_io_methods {
    // SAFETY: `real` was opened successfully (non-NULL pMethods) and stays open until close.
    unsafe { &*(*wal.real).pMethods }
}

impl WalFile {
    fn buffered_end(&self) -> i64 {
        self.buffered_at + self.buffered.len() as i64
    }

    /// Writes what is buffered, if anything, with one call.
    fn flush(&mut self) -> c_int {
        self.open_frame = None;
        if self.buffered.is_empty() {
            return ffi::SQLITE_OK;
        }
        let Some(write) = real_methods(self).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut rc = ffi::SQLITE_OK;
        let mut at = self.buffered_at;
        for chunk in self.buffered.chunks(MAX_WRITE_BYTES) {
            WAL_WRITES.with(|c| c.set(c.get() + 1));
            // SAFETY: the chunk is live for the call and shorter than MAX_WRITE_BYTES.
            rc = unsafe { write(self.real, chunk.as_ptr().cast(), chunk.len() as c_int, at) };
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += chunk.len() as i64;
        }
        // Written or failed, it is no longer ours to write: on failure SQLite rolls back.
        self.buffered.clear();
        if self.buffered.capacity() > MAX_BUFFERED_BYTES {
            self.buffered = Vec::new();
        }
        rc
    }

    /// Notes a write that went straight to the file.
    fn wrote_through(&mut self, offset: i64, len: usize) {
        let end = offset + len as i64;
        // A write of the WAL header restarts the WAL: frames follow it again.
        self.frontier = if offset < WAL_HEADER_BYTES { end } else { self.frontier.max(end) };
    }

    /// Buffers `data` at `offset` if it is a new frame's header or the page
    /// after it, returning the result to give SQLite; None if it is neither.
    fn buffer(&mut self, data: &[u8], offset: i64) -> Option<c_int> {
        let is_new_frame_header =
            data.len() == FRAME_HEADER_BYTES && offset >= WAL_HEADER_BYTES && offset >= self.frontier;
        if is_new_frame_header {
            if !self.buffered.is_empty() && offset != self.buffered_end() {
                let rc = self.flush();
                if rc != ffi::SQLITE_OK {
                    return Some(rc);
                }
            }
            if self.buffered.is_empty() {
                self.buffered_at = offset;
            }
            self.buffered.extend_from_slice(data);
            self.frontier = self.buffered_end();
            let commit = data[4..8] != [0, 0, 0, 0];
            self.open_frame = Some((offset, commit));
            return Some(ffi::SQLITE_OK);
        }
        let (header_at, commit) = self.open_frame.take()?;
        let is_its_page = offset == header_at + FRAME_HEADER_BYTES as i64 && offset == self.buffered_end();
        if !is_its_page {
            return None;
        }
        self.buffered.extend_from_slice(data);
        self.frontier = self.buffered_end();
        if commit || self.buffered.len() >= MAX_BUFFERED_BYTES {
            return Some(self.flush());
        }
        Some(ffi::SQLITE_OK)
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each file it opened once.
    let wal = unsafe { wal(file) };
    let flushed = wal.flush();
    let closed = match real_methods(wal).xClose {
        // SAFETY: `real` is open.
        Some(close) => unsafe { close(wal.real) },
        None => ffi::SQLITE_OK,
    };
    // SAFETY: the WalFile was written by `open` and is not used after this.
    unsafe { ptr::drop_in_place(file.cast::<WalFile>()) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: SQLite passes an open WAL file and `amount` readable bytes at `data`.
    let wal = unsafe { wal(file) };
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), amount.max(0) as usize) };
    if let Some(rc) = wal.buffer(bytes, offset) {
        return rc;
    }
    let rc = wal.flush();
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let Some(write) = real_methods(wal).xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    WAL_WRITES.with(|c| c.set(c.get() + 1));
    wal.wrote_through(offset, bytes.len());
    // SAFETY: arguments as SQLite passed them, to the file they belong to.
    unsafe { write(wal.real, data, amount, offset) }
}

/// Defines a method that writes the buffer first, then calls the default VFS's.
macro_rules! flush_then {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite passes an open WAL file.
            let wal = unsafe { wal(file) };
            let rc = wal.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match real_methods(wal).$field {
                // SAFETY: arguments as SQLite passed them, to the file they belong to.
                Some(method) => unsafe { method(wal.real $(, $arg)*) },
                None => $missing,
            }
        }
    };
}

/// Defines a method that only calls the default VFS's.
macro_rules! pass {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty, $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: SQLite passes an open WAL file.
            let wal = unsafe { wal(file) };
            match real_methods(wal).$field {
                // SAFETY: arguments as SQLite passed them, to the file they belong to.
                Some(method) => unsafe { method(wal.real $(, $arg)*) },
                None => $missing,
            }
        }
    };
}

flush_then!(read, xRead, (data: *mut c_void, amount: c_int, offset: i64), ffi::SQLITE_IOERR_READ);
flush_then!(truncate, xTruncate, (size: i64), ffi::SQLITE_IOERR_TRUNCATE);
flush_then!(sync, xSync, (flags: c_int), ffi::SQLITE_IOERR_FSYNC);
flush_then!(file_size, xFileSize, (size: *mut i64), ffi::SQLITE_IOERR_FSTAT);
flush_then!(file_control, xFileControl, (op: c_int, arg: *mut c_void), ffi::SQLITE_NOTFOUND);
flush_then!(fetch, xFetch, (offset: i64, amount: c_int, out: *mut *mut c_void), ffi::SQLITE_OK);
pass!(lock, xLock, (level: c_int) -> c_int, ffi::SQLITE_OK);
pass!(unlock, xUnlock, (level: c_int) -> c_int, ffi::SQLITE_OK);
pass!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int) -> c_int, ffi::SQLITE_OK);
pass!(sector_size, xSectorSize, () -> c_int, 4096);
pass!(device_characteristics, xDeviceCharacteristics, () -> c_int, 0);
pass!(shm_map, xShmMap, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int, ffi::SQLITE_IOERR_SHMMAP);
pass!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int) -> c_int, ffi::SQLITE_IOERR_SHMLOCK);
pass!(shm_unmap, xShmUnmap, (delete: c_int) -> c_int, ffi::SQLITE_OK);
pass!(unfetch, xUnfetch, (offset: i64, page: *mut c_void) -> c_int, ffi::SQLITE_OK);

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: SQLite passes an open WAL file.
    let wal = unsafe { wal(file) };
    if let Some(barrier) = real_methods(wal).xShmBarrier {
        // SAFETY: as SQLite called it, on the file it belongs to.
        unsafe { barrier(wal.real) }
    }
}
