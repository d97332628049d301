//! What the stores' unit tests share: well-formed ids and the run of a
//! cleanup that records which ids it was asked about.

use std::cell::RefCell;

use super::{Store, StoreError};

/// A well-formed id: `c` forty times.
pub(super) fn sid(c: char) -> String {
    c.to_string().repeat(40)
}

/// Runs `delete_expired_if(before, …)` with a condition that holds for
/// every id but `spare`, and returns the ids the store asked about
/// (sorted) and the ids it removed (as the store returned them).
pub(super) fn expire_sparing<S: Store + ?Sized>(
    store: &S,
    before: i64,
    spare: &str,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let seen = RefCell::new(Vec::new());
    let removed = store.delete_expired_if(before, &|id, _| {
        seen.borrow_mut().push(id.to_owned());
        id != spare
    })?;
    let mut seen = seen.into_inner();
    seen.sort();
    Ok((seen, removed))
}
