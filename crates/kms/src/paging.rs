//! Pages of a list (`Limit`, `Marker` in; `NextMarker`, `Truncated` out), one way for every
//! list operation. A marker is opaque to the caller: `kw1.<position>`.

use crate::error::KmsError;
use keyward_api::ErrorCode;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// Present when more items follow.
    pub(crate) next_marker: Option<String>,
    pub(crate) truncated: bool,
}

/// How long a page of an operation may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageSize {
    /// The length when `Limit` is absent.
    pub(crate) default: u32,
    /// The largest `Limit`.
    pub(crate) max: u32,
}

/// One page of `items` (in a stable order): `limit` between 1 and `size.max` (`size.default`
/// when absent), starting where `marker` (the `NextMarker` of the previous page) says.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    limit: Option<u32>,
    marker: Option<&str>,
    size: PageSize,
) -> Result<Page<T>, KmsError> {
    let limit = limit.unwrap_or(size.default);
    if !(1..=size.max).contains(&limit) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {}",
            size.max
        )));
    }
    let start = match marker {
        None => 0,
        Some(marker) => marker
            .strip_prefix("kw1.")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| {
                KmsError::refused(
                    ErrorCode::InvalidMarker,
                    "The marker does not come from a previous call of this operation.",
                )
            })?,
    };
    let end = start.saturating_add(limit as usize).min(items.len());
    let truncated = end < items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page {
        items,
        next_marker: truncated.then(|| format!("kw1.{end}")),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    const SIZE: PageSize = PageSize {
        default: 100,
        max: 1000,
    };

    #[test]
    fn pages_walk_a_list_and_a_forged_marker_is_refused() {
        let items: Vec<u32> = (0..5).collect();
        let first = paginate(items.clone(), Some(2), None, SIZE).unwrap();
        assert_eq!(first.items, [0, 1]);
        assert!(first.truncated);
        let second = paginate(items.clone(), Some(2), first.next_marker.as_deref(), SIZE).unwrap();
        assert_eq!(second.items, [2, 3]);
        let last = paginate(items.clone(), Some(2), second.next_marker.as_deref(), SIZE).unwrap();
        assert_eq!(
            (last.items, last.next_marker, last.truncated),
            (vec![4], None, false)
        );
        for forged in ["forged", "kw1.9", "kw1.-1"] {
            assert_eq!(
                paginate(items.clone(), None, Some(forged), SIZE)
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidMarker
            );
        }
        for limit in [0, 1001] {
            assert_eq!(
                paginate(items.clone(), Some(limit), None, SIZE)
                    .unwrap_err()
                    .code(),
                ErrorCode::Validation
            );
        }
    }
}
