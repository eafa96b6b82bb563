//! Typed readings of condition values: numbers, dates, IP networks, booleans, base64.
//!
//! The same readers serve policy values (at compile time) and request values (when a context
//! is built), so both sides agree on what a value means.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ipnet::IpNet;
use rust_decimal::Decimal;
use std::net::IpAddr;
use std::str::FromStr;

/// A number: integer or decimal, compared exactly (`2.5 == 2.50`).
pub fn parse_number(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// An instant: one of the W3C ISO 8601 forms (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD`, `YYYY-MM-DDThh:mm:ss.sTZD`), or epoch
/// seconds. Reduced forms mean the start of the period in UTC. Exactly four digits are a year
/// (the W3C `YYYY` form); other digit strings are epoch seconds.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    match bytes.len() {
        4 if digits(0..4) => return start_of(text.parse().ok()?, 1, 1),
        7 if digits(0..4) && bytes.get(4) == Some(&b'-') && digits(5..7) => {
            return start_of(
                text.get(..4)?.parse().ok()?,
                text.get(5..7)?.parse().ok()?,
                1,
            );
        }
        10 if bytes.get(4) == Some(&b'-') && bytes.get(7) == Some(&b'-') => {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            return Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
        }
        _ => {}
    }
    if let Some(epoch) = parse_epoch(text) {
        return Some(epoch);
    }
    // `YYYY-MM-DDThh:mmTZD` has no seconds; RFC 3339 needs them.
    let with_seconds;
    let full = if bytes.get(13) == Some(&b':')
        && matches!(bytes.get(16), Some(b'Z' | b'z' | b'+' | b'-'))
    {
        with_seconds = format!("{}:00{}", text.get(..16)?, text.get(16..)?);
        with_seconds.as_str()
    } else {
        text
    };
    if !matches!(full.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    DateTime::parse_from_rfc3339(full)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn start_of(year: i32, month: u32, day: u32) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Epoch seconds, integer or decimal (`1546257599`, `1546257599.5`).
fn parse_epoch(text: &str) -> Option<DateTime<Utc>> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let unsigned = whole.strip_prefix('-').unwrap_or(whole);
    if unsigned.is_empty()
        || !unsigned.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let mut nanos = 0u32;
    for (i, digit) in fraction.bytes().take(9).enumerate() {
        nanos += u32::from(digit - b'0') * 10u32.pow(8 - i as u32);
    }
    Utc.timestamp_opt(seconds, nanos).single()
}

/// A network: CIDR, or a lone address as /32 (IPv4) or /128 (IPv6).
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    IpNet::from_str(text)
        .ok()
        .or_else(|| IpAddr::from_str(text).ok().map(IpNet::from))
}

/// An address (a request's `aws:SourceIp`).
///
/// An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, what a dual-stack `[::]` listener sees
/// for an IPv4 client) is read as the IPv4 address it is, so `IpAddress` blocks written in
/// IPv4 match it, in a Deny as in an Allow.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    IpAddr::from_str(text.trim()).ok().map(|a| a.to_canonical())
}

/// `true` / `false`, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Base64 (standard alphabet, padded) to bytes.
pub fn parse_binary(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(text: &str) -> i64 {
        parse_instant(text)
            .map(|d| d.timestamp())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn dates_in_every_w3c_form_and_epoch_seconds() {
        let midnight = 1_704_067_200; // 2024-01-01T00:00:00Z
        assert_eq!(instant("2024"), midnight);
        assert_eq!(instant("2024-01"), midnight);
        assert_eq!(instant("2024-01-01"), midnight);
        assert_eq!(instant("2024-01-01T00:00Z"), midnight);
        assert_eq!(instant("2024-01-01T01:00+01:00"), midnight);
        assert_eq!(instant("2024-01-01T00:00:00Z"), midnight);
        assert_eq!(instant("2023-12-31T19:00:00-05:00"), midnight);
        assert_eq!(instant("2024-01-01T00:00:00.250Z"), midnight);
        assert_eq!(
            parse_instant("2024-01-01T00:00:00.250Z").map(|d| d.timestamp_subsec_millis()),
            Some(250)
        );
        assert_eq!(instant("1704067200"), midnight);
        assert_eq!(
            parse_instant("1704067200.5").map(|d| d.timestamp_subsec_millis()),
            Some(500)
        );
        for bad in [
            "",
            "2024-13",
            "2024-02-30",
            "2024-01-01T00:00",
            "2024-01-01 00:00:00Z",
            "yesterday",
            "12:00Z",
            "1.5.3",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_compare_exactly_as_decimals() {
        assert_eq!(parse_number("2.5"), parse_number("2.50"));
        assert!(parse_number("9") < parse_number("10"));
        assert_eq!(parse_number("1e3"), parse_number("1000"));
        assert_eq!(parse_number("-0"), parse_number("0"));
        assert_eq!(parse_number("ten"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn networks_default_to_a_single_host() {
        let host = parse_network("203.0.113.7");
        assert_eq!(host.map(|n| n.prefix_len()), Some(32));
        assert_eq!(
            parse_network("2001:DB8::1").map(|n| n.prefix_len()),
            Some(128)
        );
        assert!(parse_network("2001:DB8:1234:5678::/64").is_some_and(|n| {
            n.contains(
                &"2001:db8:1234:5678::9"
                    .parse::<IpAddr>()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0])),
            )
        }));
        assert_eq!(parse_network("10.0.0.300"), None);
        assert_eq!(parse_network("10.0.0.0/33"), None);
    }

    #[test]
    fn booleans_and_binaries() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_binary("QmluYXJ5"), Some(b"Binary".to_vec()));
        assert_eq!(parse_binary("not base64!"), None);
    }
}
