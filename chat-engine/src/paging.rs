//! Pages fetched one row long: a store asks for `limit + 1` rows, and the
//! extra row, never returned, only says that more remain. Cheaper than a
//! count, and exact.

/// The first `limit` of `items`, and whether there were more.
///
/// ```
/// let (page, more) = chat_engine::paging::split_overfetch(vec![1, 2, 3], 2);
/// assert_eq!((page, more), (vec![1, 2], true));
/// let (page, more) = chat_engine::paging::split_overfetch(vec![1, 2], 2);
/// assert_eq!((page, more), (vec![1, 2], false));
/// ```
#[must_use]
pub fn split_overfetch<T>(mut items: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}
