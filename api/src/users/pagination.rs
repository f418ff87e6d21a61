//! Where a page of the user listing starts. Page numbers reach the first
//! [`Pagination::WINDOW`] users: each deeper page would make the database step over
//! every user before it, so a listing that grows to millions would slow down page by
//! page. Past the window (and anywhere before it) a page continues from the `next`
//! cursor of the page before, which costs the same at any depth.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

/// `page` or `after`, and `size`, from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub start: Start,
    pub size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A page number, from 1.
    Page(u32),
    /// Right after the last user of a page already read.
    After(Cursor),
}

/// The position after the last user of a page, in the listing's order (newest first,
/// `id` breaking ties), and that page's number. Clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub page: u32,
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    /// `<page>.<created_at in unix microseconds>.<id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.page,
            self.created_at.unix_timestamp_nanos() / 1000,
            self.id
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(3, '.');
        let page = parts.next()?.parse().ok()?;
        let micros: i128 = parts.next()?.parse().ok()?;
        let created_at =
            OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000)?).ok()?;
        let id = Uuid::parse_str(parts.next()?).ok()?;
        Some(Self {
            page,
            created_at,
            id,
        })
    }
}

impl Pagination {
    pub const MAX_SIZE: u32 = 100;
    /// How many users page numbers reach (as search engines bound their result windows).
    pub const WINDOW: u32 = 10_000;

    pub fn parse(
        page: Option<&str>,
        size: Option<&str>,
        after: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        // Parsed first (the page's reach depends on it), reported after the page.
        let (size, size_error) = match size {
            None => (10, None),
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(value) if (1..=Self::MAX_SIZE).contains(&value) => (value, None),
                _ => (
                    10,
                    Some(FieldError::new(
                        "size",
                        format!(
                            "expected an integer from 1 to {}, got {raw:?}",
                            Self::MAX_SIZE
                        ),
                    )),
                ),
            },
        };
        let start = match (page, after) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "after",
                    "give page or after, not both: after continues from a page's `next`",
                ));
                Start::Page(1)
            }
            (_, Some(raw)) => match Cursor::decode(raw) {
                Some(cursor) => Start::After(cursor),
                None => {
                    errors.push(FieldError::new(
                        "after",
                        format!("{raw:?} is not a cursor; pass the `next` of a page as it came"),
                    ));
                    Start::Page(1)
                }
            },
            (Some(raw), None) => match raw.trim().parse::<u32>() {
                Ok(value)
                    if value >= 1
                        && u64::from(value - 1) * u64::from(size) < u64::from(Self::WINDOW) =>
                {
                    Start::Page(value)
                }
                Ok(value) if value >= 1 => {
                    errors.push(FieldError::new(
                        "page",
                        format!(
                            "page {value} of {size} starts past the first {} users, which is as far as page numbers reach; continue from a page's `next` (after=...)",
                            Self::WINDOW
                        ),
                    ));
                    Start::Page(1)
                }
                _ => {
                    errors.push(FieldError::new(
                        "page",
                        format!("expected an integer from 1, got {raw:?}"),
                    ));
                    Start::Page(1)
                }
            },
            (None, None) => Start::Page(1),
        };
        errors.extend(size_error);
        if errors.is_empty() {
            Ok(Self { start, size })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The number of the page this starts.
    pub fn page(&self) -> u32 {
        match self.start {
            Start::Page(page) => page,
            Start::After(cursor) => cursor.page.saturating_add(1),
        }
    }

    /// The `next` of a page whose last user is `last`, when more users follow it (the
    /// repository reads one user past the page to know).
    pub fn next(&self, more: bool, last: Option<(OffsetDateTime, Uuid)>) -> Option<String> {
        let (created_at, id) = last?;
        more.then(|| {
            Cursor {
                page: self.page(),
                created_at,
                id,
            }
            .encode()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        page: Option<&str>,
        size: Option<&str>,
        after: Option<&str>,
    ) -> Result<Pagination, ApiError> {
        Pagination::parse(page, size, after)
    }

    #[test]
    fn pagination_defaults_and_bounds() {
        assert_eq!(
            parse(None, None, None).unwrap(),
            Pagination {
                start: Start::Page(1),
                size: 10
            }
        );
        assert_eq!(
            parse(Some("3"), Some("100"), None).unwrap(),
            Pagination {
                start: Start::Page(3),
                size: 100
            }
        );
        assert_eq!(
            parse(Some("0"), Some("1000"), None)
                .unwrap_err()
                .invalid_fields(),
            ["page", "size"]
        );
        assert_eq!(
            parse(Some("x"), None, None).unwrap_err().invalid_fields(),
            ["page"]
        );
        assert_eq!(
            parse(None, Some("-1"), None).unwrap_err().invalid_fields(),
            ["size"]
        );
        assert_eq!(
            parse(Some("99999999999"), None, None)
                .unwrap_err()
                .invalid_fields(),
            ["page"]
        );
    }

    #[test]
    fn page_numbers_reach_the_first_ten_thousand_users() {
        assert!(
            parse(Some("100"), Some("100"), None).is_ok(),
            "users 9,901 to 10,000"
        );
        assert!(parse(Some("1000"), Some("10"), None).is_ok());
        let past = parse(Some("101"), Some("100"), None).unwrap_err();
        assert_eq!(past.invalid_fields(), ["page"]);
        assert!(format!("{past:?}").contains("after="), "{past:?}");
        assert!(
            parse(Some("4294967295"), Some("100"), None).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_named() {
        let cursor = Cursor {
            page: 1000,
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_000)
                .unwrap(),
            id: Uuid::nil(),
        };
        let text = cursor.encode();
        assert_eq!(
            text,
            "1000.1764000000123456.00000000-0000-0000-0000-000000000000"
        );
        let parsed = parse(None, Some("20"), Some(&text)).unwrap();
        assert_eq!(parsed.start, Start::After(cursor));
        assert_eq!(parsed.page(), 1001);
        for bad in [
            "",
            "1.2",
            "x.1.00000000-0000-0000-0000-000000000000",
            "1.99999999999999999999999.00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(
                parse(None, None, Some(bad)).unwrap_err().invalid_fields(),
                ["after"],
                "{bad:?}"
            );
        }
        assert_eq!(
            parse(Some("2"), None, Some(&text))
                .unwrap_err()
                .invalid_fields(),
            ["after"]
        );
    }

    #[test]
    fn only_a_page_with_users_after_it_has_a_next() {
        let pagination = parse(Some("2"), Some("2"), None).unwrap();
        let last = Some((OffsetDateTime::UNIX_EPOCH, Uuid::nil()));
        let next = pagination.next(true, last).unwrap();
        assert!(next.starts_with("2.0."), "{next}");
        assert_eq!(pagination.next(false, last), None);
        assert_eq!(pagination.next(true, None), None);
    }
}
