//! Keyset pages (`?after=<the next of the page before>&size=`) for the lists that only
//! continue and never jump (accounts, statements, notifications): each page costs the
//! same at any depth, and rows added meanwhile neither repeat nor go missing.

use std::str::FromStr;

use crate::error::{ApiError, FieldError};

/// Where a page starts and how long it is; `K` is the position of a row in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset<K> {
    pub after: Option<K>,
    pub size: u32,
}

impl<K: FromStr> Keyset<K> {
    pub const DEFAULT_SIZE: u32 = 20;
    pub const MAX_SIZE: u32 = 100;

    /// The `after` and `size` query parameters; both problems are reported at once.
    pub fn parse(after: Option<&str>, size: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let size = match size {
            None => Self::DEFAULT_SIZE,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(value) if (1..=Self::MAX_SIZE).contains(&value) => value,
                _ => {
                    errors.push(FieldError::new(
                        "size",
                        format!(
                            "expected an integer from 1 to {}, got {raw:?}",
                            Self::MAX_SIZE
                        ),
                    ));
                    Self::DEFAULT_SIZE
                }
            },
        };
        let after = match after {
            None => None,
            Some(raw) => match raw.trim().parse::<K>() {
                Ok(key) => Some(key),
                Err(_) => {
                    errors.push(FieldError::new(
                        "after",
                        format!("{raw:?} is not a position in this list; pass a page's `next` as it came"),
                    ));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Self { after, size })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The `after` and `size` query parameters of `req`.
    pub fn of_request(req: &salvo::Request) -> Result<Self, ApiError> {
        let query = |name: &str| req.queries().get(name).map(String::as_str);
        Self::parse(query("after"), query("size"))
    }

    /// How many rows to read: one more than the page, to learn whether another follows.
    pub fn limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Cuts the extra row read by [`Keyset::limit`] and returns the `next` of the page:
    /// the position of its last row, when more follow.
    pub fn finish<T>(&self, rows: &mut Vec<T>, position: impl Fn(&T) -> String) -> Option<String> {
        let more = rows.len() > self.size as usize;
        rows.truncate(self.size as usize);
        if more {
            rows.last().map(position)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_after_and_size_and_reports_both_problems() {
        let page = Keyset::<i64>::parse(Some("42"), Some("5")).unwrap();
        assert_eq!(
            page,
            Keyset {
                after: Some(42),
                size: 5
            }
        );
        assert_eq!(page.limit(), 6);
        assert_eq!(
            Keyset::<i64>::parse(None, None).unwrap(),
            Keyset {
                after: None,
                size: 20
            }
        );
        let err = Keyset::<i64>::parse(Some("x"), Some("0")).unwrap_err();
        assert_eq!(err.invalid_fields(), ["size", "after"]);
    }

    #[test]
    fn the_next_position_is_given_only_when_rows_follow() {
        let page = Keyset::<i64> {
            after: None,
            size: 2,
        };
        let mut rows = vec![9, 8, 7];
        assert_eq!(page.finish(&mut rows, i64::to_string), Some("8".to_owned()));
        assert_eq!(rows, [9, 8]);
        let mut rows = vec![9, 8];
        assert_eq!(page.finish(&mut rows, i64::to_string), None);
    }
}
