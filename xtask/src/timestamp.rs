//! Times as Kubernetes and the deploy records write them.

/// Now, as RFC 3339 in UTC (`2026-11-24T08:51:04.123456789Z`).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Now as a Kubernetes `MicroTime` (`2026-11-24T08:51:04.123456Z`), as Leases carry it.
pub fn micro_now() -> String {
    micro(time::OffsetDateTime::now_utc())
}

pub fn micro(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Parses an RFC 3339 time such as Kubernetes writes (`MicroTime` or `Time`).
pub fn parse(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn micro_times_round_trip() {
        let at = super::parse("2026-11-20T10:05:00.000123Z").unwrap();
        assert_eq!(super::micro(at), "2026-11-20T10:05:00.000123Z");
        assert!(super::parse("yesterday").is_none());
    }
}
