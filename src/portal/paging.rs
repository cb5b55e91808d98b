//! Page numbers for portal lists.

use serde::Serialize;

/// Rows per page in portal lists.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Paging {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub first: i64,
    pub last: i64,
}

impl Paging {
    /// The 1-based page asked for (clamped to at least 1) and the SQL offset.
    pub fn offset(page: Option<i64>) -> (i64, i64) {
        let page = page.unwrap_or(1).max(1);
        (page, (page - 1).saturating_mul(PAGE_SIZE))
    }

    pub fn new(page: i64, total: i64, shown: usize) -> Paging {
        let first = if shown == 0 { 0 } else { (page - 1) * PAGE_SIZE + 1 };
        Paging {
            page,
            pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
            total,
            first,
            last: first + shown as i64 - (shown > 0) as i64,
        }
    }
}
