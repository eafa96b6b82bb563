//! AWS Signature Version 4, the verifying side: the `Authorization` header, the canonical
//! request, the string to sign and the signing key, as the SigV4 documentation defines them
//! (IAM user guide, "Create a signed AWS API request"). Pure functions; who the keys belong to
//! and what time it is are [`crate::auth`]'s business.

use aws_lc_rs::{digest, hmac};
use hyper::HeaderMap;
use keyward_api::{ApiError, ErrorCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The only algorithm SigV4 has.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Characters SigV4 leaves as they are: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why a request's signature was not accepted, with AWS's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header (and no signature in the query).
    #[error("MissingAuthenticationTokenException: Missing Authentication Token")]
    MissingToken,
    /// The `Authorization` header is there but lacks parts.
    #[error("IncompleteSignatureException: {0}")]
    Incomplete(String),
    /// The access key (or the session token) is not known.
    #[error("UnrecognizedClientException: The security token included in the request is invalid.")]
    UnknownClient,
    /// The signature does not match.
    #[error("InvalidSignatureException: {SIGNATURE_MISMATCH}")]
    Mismatch,
    /// Scope or time wrong: the signature cannot be right for this server now.
    #[error("InvalidSignatureException: {0}")]
    Invalid(String),
}

/// AWS's message for a signature that does not match.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl AuthError {
    /// The code AWS sends.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::MissingToken => ErrorCode::MissingAuthenticationToken,
            Self::Incomplete(_) => ErrorCode::IncompleteSignature,
            Self::UnknownClient => ErrorCode::UnrecognizedClient,
            Self::Mismatch | Self::Invalid(_) => ErrorCode::InvalidSignature,
        }
    }

    /// The message AWS sends.
    pub fn message(&self) -> String {
        match self {
            Self::MissingToken => "Missing Authentication Token".into(),
            Self::Incomplete(m) | Self::Invalid(m) => m.clone(),
            Self::UnknownClient => "The security token included in the request is invalid.".into(),
            Self::Mismatch => SIGNATURE_MISMATCH.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::new(e.code(), e.message())
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key ID: the part of `Credential` before the first `/`.
    pub access_key_id: &'a str,
    /// The scope: `date/region/service/aws4_request`.
    pub scope: &'a str,
    /// The scope's date, as sent: `YYYYMMDD` in a well-formed request (not checked here).
    pub date: &'a str,
    /// The scope's Region, as sent (e.g. `us-east-1`).
    pub region: &'a str,
    /// The scope's service, as sent: `kms` in a request to this server.
    pub service: &'a str,
    /// The scope's last part, as sent: `aws4_request` in a well-formed request.
    pub terminator: &'a str,
    /// Lower-case header names, `;`-separated, as signed.
    pub signed_headers: &'a str,
    /// 64 hex digits.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Parses the header value. Missing parts are named as AWS names them.
    pub fn parse(value: &'a str) -> Result<Self, AuthError> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Authorization header requires the {ALGORITHM} algorithm. Authorization={}",
                    shorten(value)
                ))
            })?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let mut missing = String::new();
        for (name, part) in [
            ("Credential", credential.is_some()),
            ("Signature", signature.is_some()),
            ("SignedHeaders", signed.is_some()),
        ] {
            if !part {
                missing.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed, signature)
        else {
            return Err(AuthError::Incomplete(format!(
                "{missing}Authorization={}",
                shorten(value)
            )));
        };
        let (access_key_id, scope) = credential.split_once('/').ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Credential should be scoped to a valid access key and scope: '{}'.",
                shorten(credential)
            ))
        })?;
        let mut parts = scope.split('/');
        let (Some(date), Some(region), Some(service), Some(terminator), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AuthError::Incomplete(format!(
                "Credential should be scoped to a valid Region, service and date: '{}'.",
                shorten(scope)
            )));
        };
        Ok(Self {
            access_key_id,
            scope,
            date,
            region,
            service,
            terminator,
            signed_headers,
            signature,
        })
    }
}

/// At most 200 characters of something the client sent, for a message.
fn shorten(text: &str) -> &str {
    let end = text.char_indices().nth(200).map_or(text.len(), |(i, _)| i);
    text.get(..end).unwrap_or(text)
}

/// Where a canonical request is written: a `String` (to read it, as the tests and the
/// documentation do) or a SHA-256 context (to verify a request, hashed as it is written, with
/// no copy of it made).
trait Sink {
    fn push_str(&mut self, text: &str);
}

impl Sink for String {
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }
}

/// A SHA-256 context fed through a small buffer: a canonical request is written in some
/// thirty pieces, most of a few bytes, and the hash takes them in a few updates.
struct HashingSink {
    context: digest::Context,
    buffer: [u8; 256],
    len: usize,
}

impl HashingSink {
    fn new() -> Self {
        Self {
            context: digest::Context::new(&digest::SHA256),
            buffer: [0; 256],
            len: 0,
        }
    }

    fn finish(mut self) -> digest::Digest {
        self.context
            .update(self.buffer.get(..self.len).unwrap_or_default());
        self.context.finish()
    }
}

impl Sink for HashingSink {
    fn push_str(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let end = self.len.saturating_add(bytes.len());
        if let Some(room) = self.buffer.get_mut(self.len..end) {
            room.copy_from_slice(bytes);
            self.len = end;
            return;
        }
        self.context
            .update(self.buffer.get(..self.len).unwrap_or_default());
        self.len = 0;
        if let Some(room) = self.buffer.get_mut(..bytes.len()) {
            room.copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            self.context.update(bytes);
        }
    }
}

/// The canonical request: method, URI, query, the signed headers (names lower-case, values
/// trimmed with inner runs of spaces made one, repeated headers joined by commas), the signed
/// header list and the hex SHA-256 of the payload. A header listed as signed but absent makes
/// the signature impossible to match.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    signed_headers: &str,
    payload: &[u8],
) -> Result<String, AuthError> {
    let mut out = String::with_capacity(256 + signed_headers.len() * 16);
    write_canonical_request(
        method,
        path,
        query,
        headers,
        signed_headers,
        payload,
        &mut out,
    )?;
    Ok(out)
}

/// The SHA-256 of [`canonical_request`], hashed as it is written: what a signature covers.
pub fn canonical_request_digest(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    signed_headers: &str,
    payload: &[u8],
) -> Result<digest::Digest, AuthError> {
    let mut sink = HashingSink::new();
    write_canonical_request(
        method,
        path,
        query,
        headers,
        signed_headers,
        payload,
        &mut sink,
    )?;
    Ok(sink.finish())
}

/// A SHA-256 digest in lower-case hex, on the stack.
fn hex_digest(digest: &digest::Digest) -> [u8; 64] {
    let mut out = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(digest.as_ref(), &mut out);
    out
}

fn write_canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    signed_headers: &str,
    payload: &[u8],
    out: &mut impl Sink,
) -> Result<(), AuthError> {
    out.push_str(method);
    out.push_str("\n");
    canonical_uri(path, out);
    out.push_str("\n");
    canonical_query(query, out);
    out.push_str("\n");
    let mut previous: Option<&str> = None;
    for name in signed_headers.split(';') {
        // The list must be lower-case and sorted, as every signer writes it.
        if name.is_empty()
            || name.bytes().any(|b| b.is_ascii_uppercase())
            || previous.is_some_and(|p| p >= name)
        {
            return Err(AuthError::Mismatch);
        }
        previous = Some(name);
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(AuthError::Mismatch);
        }
        out.push_str(name);
        out.push_str(":");
        let mut first = true;
        for value in values {
            if !first {
                out.push_str(",");
            }
            first = false;
            let text = value.to_str().map_err(|_| AuthError::Mismatch)?;
            push_trimmed(text, out);
        }
        out.push_str("\n");
    }
    out.push_str("\n");
    out.push_str(signed_headers);
    out.push_str("\n");
    let payload_hash = hex_digest(&digest::digest(&digest::SHA256, payload));
    out.push_str(std::str::from_utf8(&payload_hash).map_err(|_| AuthError::Mismatch)?);
    Ok(())
}

/// A header value trimmed, with each run of spaces made one space: the value in one piece
/// when it has no inner space.
fn push_trimmed(value: &str, out: &mut impl Sink) {
    let mut rest = value.trim();
    while let Some((word, after)) = rest.split_once(' ') {
        out.push_str(word);
        out.push_str(" ");
        // Trimmed, the value does not end with a space: a word follows the run.
        rest = after.trim_start_matches(' ');
    }
    out.push_str(rest);
}

/// The path, each segment percent-encoded again (services other than S3 sign the encoded path
/// encoded once more).
fn canonical_uri(path: &str, out: &mut impl Sink) {
    if path.is_empty() || path == "/" {
        out.push_str("/");
        return;
    }
    let mut first = true;
    for segment in path.split('/') {
        if !first {
            out.push_str("/");
        }
        first = false;
        for piece in utf8_percent_encode(segment, UNRESERVED) {
            out.push_str(piece);
        }
    }
}

/// Query parameters decoded, encoded the SigV4 way, sorted by name then value.
fn canonical_query(query: &str, out: &mut impl Sink) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let encode = |s: &str| {
                let decoded = percent_decode_str(s).decode_utf8_lossy();
                utf8_percent_encode(&decoded, UNRESERVED).to_string()
            };
            (encode(name), encode(value))
        })
        .collect();
    pairs.sort();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str("&");
        }
        out.push_str(name);
        out.push_str("=");
        out.push_str(value);
    }
}

/// The string to sign, piece by piece: the algorithm, the date, the scope and the canonical
/// request's digest in hex, a newline between each. The one place its shape is written.
fn string_to_sign_parts<'a>(amz_date: &'a str, scope: &'a str, hex: &'a str) -> [&'a str; 7] {
    [ALGORITHM, "\n", amz_date, "\n", scope, "\n", hex]
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hex = hex_digest(&digest::digest(
        &digest::SHA256,
        canonical_request.as_bytes(),
    ));
    string_to_sign_parts(
        amz_date,
        scope,
        std::str::from_utf8(&hex).unwrap_or_default(),
    )
    .concat()
}

/// The signature of the string to sign made of `amz_date`, `scope` and the canonical request's
/// digest, under `key`: [`signature`] of [`string_to_sign`], written straight into the HMAC.
pub fn signature_of_digest(
    key: &hmac::Key,
    amz_date: &str,
    scope: &str,
    canonical_digest: &digest::Digest,
) -> [u8; 32] {
    let hex = hex_digest(canonical_digest);
    let mut context = hmac::Context::with_key(key);
    for part in string_to_sign_parts(
        amz_date,
        scope,
        std::str::from_utf8(&hex).unwrap_or_default(),
    ) {
        context.update(part.as_bytes());
    }
    tag_bytes(&context.sign())
}

/// An HMAC-SHA256 tag as its 32 bytes.
fn tag_bytes(tag: &hmac::Tag) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref().get(..32).unwrap_or(&[0u8; 32]));
    out
}

/// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let mut seed = zeroize::Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let mut key = hmac::Key::new(hmac::HMAC_SHA256, &seed);
    for part in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(&key, part.as_bytes());
        key = hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref());
    }
    key
}

/// The signature of `string_to_sign` under `key`.
pub fn signature(key: &hmac::Key, string_to_sign: &str) -> [u8; 32] {
    tag_bytes(&hmac::sign(key, string_to_sign.as_bytes()))
}

/// `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`: ISO 8601 basic format, UTC) as seconds since the Unix
/// epoch; `None` when it is not such a date (a month 13, February 30, a second 60). Read
/// field by field rather than by a general date parser with a format string: every request
/// carries one.
pub(crate) fn amz_date_seconds(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        bytes.get(from..to)?.iter().try_fold(0i64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(4, 6)?, number(6, 8)?);
    let (hour, minute, second) = (number(9, 11)?, number(11, 13)?, number(13, 15)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use hyper::header::HeaderValue;

    /// The worked example of the SigV4 documentation (IAM ListUsers, 2015-08-30), every
    /// intermediate value as the documentation prints it.
    #[test]
    fn the_documented_example_signs_as_documented() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        let canonical = canonical_request(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            "content-type;host;x-amz-date",
            b"",
        )
        .unwrap();
        assert_eq!(
            hex::encode(digest::digest(&digest::SHA256, canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let to_sign = string_to_sign(
            "20150830T123600Z",
            "20150830/us-east-1/iam/aws4_request",
            &canonical,
        );
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(signature(&key, &to_sign)),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        // The verifying path hashes the canonical request as it writes it: the same signature.
        let digest = canonical_request_digest(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            "content-type;host;x-amz-date",
            b"",
        )
        .unwrap();
        assert_eq!(
            hex::encode(signature_of_digest(
                &key,
                "20150830T123600Z",
                "20150830/us-east-1/iam/aws4_request",
                &digest
            )),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    /// Pieces longer than the hashing buffer, and pieces that overflow it, are hashed whole
    /// and in order.
    #[test]
    fn the_streamed_digest_takes_pieces_of_every_length() {
        for length in [0, 1, 200, 255, 256, 257, 511, 1000, 5000] {
            let mut headers = HeaderMap::new();
            let value = "v".repeat(length);
            headers.insert("x-a", HeaderValue::from_str(&value).unwrap());
            headers.insert("x-b", HeaderValue::from_static("b"));
            let path = format!("/{}", "p".repeat(length));
            let signed = "x-a;x-b";
            let written = canonical_request("POST", &path, "", &headers, signed, b"{}").unwrap();
            let streamed =
                canonical_request_digest("POST", &path, "", &headers, signed, b"{}").unwrap();
            assert_eq!(
                digest::digest(&digest::SHA256, written.as_bytes()).as_ref(),
                streamed.as_ref(),
                "{length}"
            );
        }
    }

    #[test]
    fn header_values_are_trimmed_and_repeated_headers_joined() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("  one   two  "));
        headers.append("x-a", HeaderValue::from_static("three"));
        let c = canonical_request("POST", "/", "", &headers, "x-a", b"").unwrap();
        assert!(c.contains("\nx-a:one two,three\n\nx-a\n"), "{c}");
    }

    #[test]
    fn a_signed_header_that_is_absent_or_a_list_out_of_order_cannot_match() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h"));
        headers.insert("x-amz-date", HeaderValue::from_static("d"));
        assert_eq!(
            canonical_request("POST", "/", "", &headers, "host;x-amz-target", b""),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            canonical_request("POST", "/", "", &headers, "x-amz-date;host", b""),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            canonical_request("POST", "/", "", &headers, "Host", b""),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn paths_and_queries_are_encoded_the_sigv4_way() {
        let headers = HeaderMap::new();
        let c = canonical_request("GET", "/a b/%2F", "b=2&a=x%20y&a=1", &headers, "", b"");
        // With no signed headers the list is empty, which never matches a real signer's.
        assert!(c.is_err());
        let mut out = String::new();
        canonical_uri("/a%20b/c", &mut out);
        assert_eq!(out, "/a%2520b/c");
        let mut out = String::new();
        canonical_query("b=2&a=x%20y&a=1&c", &mut out);
        assert_eq!(out, "a=1&a=x%20y&b=2&c=");
    }

    #[test]
    fn the_authorization_header_parses_and_names_missing_parts() {
        let a = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
        .unwrap();
        assert_eq!(a.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            (a.date, a.region, a.service, a.terminator),
            ("20150830", "us-east-1", "iam", "aws4_request")
        );
        assert_eq!(a.scope, "20150830/us-east-1/iam/aws4_request");
        assert_eq!(a.signed_headers, "content-type;host;x-amz-date");
        let e = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request",
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::IncompleteSignature);
        let m = e.message();
        assert!(
            m.contains("requires 'Signature' parameter")
                && m.contains("requires 'SignedHeaders' parameter"),
            "{m}"
        );
        assert!(!m.contains("'Credential'"), "{m}");
        for bad in [
            "Basic dXNlcjpwYXNz",
            "AWS4-HMAC-SHA256Credential=x",
            "AWS4-HMAC-SHA256 Credential=AKID, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKID/a/b/c/d/e, SignedHeaders=host, Signature=00",
        ] {
            assert_eq!(
                Authorization::parse(bad).unwrap_err().code(),
                ErrorCode::IncompleteSignature,
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_quote_at_most_200_characters_of_what_was_sent() {
        let long = format!("Basic {}", "x".repeat(10_000));
        let m = Authorization::parse(&long).unwrap_err().message();
        assert!(m.len() < 400, "{}", m.len());
    }

    #[test]
    fn an_amz_date_reads_as_chrono_reads_it() {
        let chrono = |t: &str| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|d| d.and_utc().timestamp())
        };
        for t in [
            "20150830T123600Z",
            "19700101T000000Z",
            "20000229T235959Z",
            "20240229T000000Z",
            "99991231T235959Z",
            "00000101T000000Z",
            "16000301T120000Z",
        ] {
            assert_eq!(amz_date_seconds(t), chrono(t), "{t}");
            assert!(amz_date_seconds(t).is_some(), "{t}");
        }
        for t in [
            "20230229T000000Z",
            "19000229T000000Z",
            "20151330T123600Z",
            "20150800T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "20150830 123600Z",
            "20150830T123600",
            "20150830T123600Z0",
            "2015083OT123600Z",
            "+2015083T123600Z",
            "",
        ] {
            assert_eq!(amz_date_seconds(t), None, "{t}");
        }
    }

    /// A leap second (`...T235960Z`), which no SDK writes: chrono's parser takes it, this
    /// refuses it (fail closed: the request is refused as not ISO 8601).
    #[test]
    fn a_leap_second_is_refused() {
        assert_eq!(amz_date_seconds("20161231T235960Z"), None);
    }

    proptest::proptest! {
        /// The streamed digest and signature are the written-out ones, whatever the path,
        /// query, header values (spaces, tabs, repeats; short, and longer than the hashing
        /// buffer) and payload.
        #[test]
        fn the_streamed_signature_is_the_written_one(
            path in "(/[a-zA-Z0-9 %._~-]{0,8}){0,3}",
            query in "([a-z]{1,3}=[a-zA-Z0-9 %]{0,4}&?){0,3}",
            values in proptest::collection::vec("[ \t]{0,2}[a-zA-Z0-9 ,;\t]{0,300}[ ]{0,2}", 1..4),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut headers = HeaderMap::new();
            for v in &values {
                headers.append("x-amz-meta", HeaderValue::from_str(v).unwrap());
            }
            headers.insert("host", HeaderValue::from_static("kms.us-east-1.amazonaws.com"));
            let signed = "host;x-amz-meta";
            let written = canonical_request("POST", &path, &query, &headers, signed, &payload).unwrap();
            let streamed = canonical_request_digest("POST", &path, &query, &headers, signed, &payload).unwrap();
            let whole = digest::digest(&digest::SHA256, written.as_bytes());
            proptest::prop_assert_eq!(whole.as_ref(), streamed.as_ref());
            let key = signing_key("secret", "20261202", "us-east-1", "kms");
            let scope = "20261202/us-east-1/kms/aws4_request";
            proptest::prop_assert_eq!(
                signature(&key, &string_to_sign("20261202T000000Z", scope, &written)),
                signature_of_digest(&key, "20261202T000000Z", scope, &streamed)
            );
        }
    }

    proptest::proptest! {
        /// A header value is written as AWS's rule reads: trimmed, split at spaces, the
        /// non-empty words joined by one space.
        #[test]
        fn a_header_value_is_trimmed_and_its_space_runs_made_one(
            value in "[ \t]{0,3}([a-z\t]{0,4}[ ]{0,3}){0,6}[ \t]{0,3}",
        ) {
            let mut written = String::new();
            push_trimmed(&value, &mut written);
            let words: Vec<&str> = value.trim().split(' ').filter(|w| !w.is_empty()).collect();
            proptest::prop_assert_eq!(written, words.join(" "));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// Any 16 characters of the shape, in range or not: the same answer as chrono's
        /// parser (a leap second aside, which chrono takes and this refuses).
        #[test]
        fn amz_dates_agree_with_chrono(
            year in 0u32..10_000, month in 0u32..14, day in 0u32..33,
            hour in 0u32..26, minute in 0u32..61, second in 0u32..60,
        ) {
            let t = format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z");
            let theirs = chrono::NaiveDateTime::parse_from_str(&t, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|d| d.and_utc().timestamp());
            proptest::prop_assert_eq!(amz_date_seconds(&t), theirs, "{}", t);
        }
    }
}
