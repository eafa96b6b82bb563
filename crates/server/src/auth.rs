//! Who is calling: every request's SigV4 signature checked against the configured access keys,
//! each mapped to a principal (ARN, identity policies, tags, account). Scope (date, region,
//! service), a ±5 minute clock skew and the signature (compared in constant time) must all be
//! right; nothing unauthenticated goes further.
//!
//! The check is in two steps so that a request is refused before its body is read wherever it
//! can be: [`Authenticator::check_head`] needs only the head (a known access key, the right
//! scope, the time, the headers that must be signed); [`Authenticator::verify`] then checks
//! the signature over the head and the body.

use crate::config::ServerConfig;
use crate::sigv4::{self, AuthError, Authorization};
use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use hyper::HeaderMap;
use keyward_kms::Caller;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The service name requests must be signed for.
pub const SERVICE: &str = "kms";
/// How far a request's time may be from the server's: "a request must reach AWS within five
/// minutes of the time stamp in the request" (IAM User Guide, "AWS Signature Version 4 for API
/// requests"); KMS answers `Signature expired: ... (... - 5 min.)`.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// A principal that signs requests.
pub struct Identity {
    /// The principal as the key service sees it (identity policies compiled, tags set).
    pub caller: Caller,
    /// The access key ID its requests name in their SigV4 credential.
    pub access_key_id: String,
    secret: Zeroizing<String>,
    /// The signing key of the last scope date and Region (deriving it costs four HMACs).
    signing_key: Mutex<Option<(String, String, hmac::Key)>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("arn", &self.caller.arn())
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Identity {
    fn signing_key(&self, date: &str, region: &str) -> hmac::Key {
        let mut cached = self.signing_key.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((d, r, key)) if d == date && r == region => key.clone(),
            _ => {
                let key = sigv4::signing_key(&self.secret, date, region, SERVICE);
                *cached = Some((date.to_owned(), region.to_owned(), key.clone()));
                key
            }
        }
    }
}

/// A request as the verifier needs it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method, as sent (e.g. `POST`).
    pub method: &'a str,
    /// The request URI's path, as sent (still percent-encoded).
    pub path: &'a str,
    /// The request URI's query string without the `?`, as sent; empty when there is none.
    pub query: &'a str,
    /// The request's HTTP headers.
    pub headers: &'a HeaderMap,
    /// The whole request body.
    pub body: &'a [u8],
}

/// The access keys this server knows, and the Regions requests may be signed for.
#[derive(Debug)]
pub struct Authenticator {
    regions: Vec<String>,
    identities: HashMap<String, Arc<Identity>>,
}

/// A principal of the config that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("principal {arn}: {problem}")]
pub struct IdentityError {
    /// The ARN of the principal, as configured.
    pub arn: String,
    /// Why it cannot be built (its ARN or an identity policy refused).
    pub problem: String,
}

impl Authenticator {
    /// The principals of `config`, identity policies compiled.
    pub fn new(config: &ServerConfig) -> Result<Self, IdentityError> {
        let mut identities = HashMap::new();
        for p in &config.principals {
            let texts: Vec<&str> = p.identity_policies.iter().map(String::as_str).collect();
            let mut caller = Caller::new(&p.arn, &texts).map_err(|e| IdentityError {
                arn: p.arn.clone(),
                problem: e.to_string(),
            })?;
            for (k, v) in &p.tags {
                caller = caller.with_tag(k, v);
            }
            if let Some(service) = &p.via_service {
                caller = caller.via_service(service);
            }
            identities.insert(
                p.access_key_id.clone(),
                Arc::new(Identity {
                    caller,
                    access_key_id: p.access_key_id.clone(),
                    secret: p.secret_access_key.clone(),
                    signing_key: Mutex::new(None),
                }),
            );
        }
        Ok(Self {
            regions: config.regions.clone(),
            identities,
        })
    }

    /// Checks the request's signature at time `now`; the identity that signed it: the head
    /// ([`check_head`](Self::check_head)) and then the signature ([`verify`](Self::verify)).
    pub fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        now: SystemTime,
    ) -> Result<Arc<Identity>, AuthError> {
        let head = self.check_head(request.headers, now)?;
        self.verify(&head, request)
    }

    /// Everything that can be checked before the body is read: an `Authorization` header of
    /// a known access key, scoped to this server's Region and to `kms`, signed within the
    /// allowed skew of `now`, covering the headers that must be signed.
    pub fn check_head<'h>(
        &self,
        headers: &'h HeaderMap,
        now: SystemTime,
    ) -> Result<CheckedHead<'h>, AuthError> {
        let Some(header) = headers.get("authorization") else {
            return Err(AuthError::MissingToken);
        };
        let header = header
            .to_str()
            .map_err(|_| AuthError::Incomplete("The Authorization header is not ASCII.".into()))?;
        let auth = Authorization::parse(header)?;
        let amz_date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                    header.get(..header.len().min(200)).unwrap_or("")
                ))
            })?;
        let signed_at = sigv4::amz_date_seconds(amz_date)
            .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
            })?;
        let identity = self
            .identities
            .get(auth.access_key_id)
            .ok_or(AuthError::UnknownClient)?;
        // This server issues no session credentials, so no session token is valid.
        if headers.contains_key("x-amz-security-token") {
            return Err(AuthError::UnknownClient);
        }
        if auth.terminator != "aws4_request" {
            return Err(AuthError::Invalid(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                auth.terminator
            )));
        }
        if auth.service != SERVICE {
            return Err(AuthError::Invalid(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        if !self.regions.iter().any(|r| r == auth.region) {
            return Err(AuthError::Invalid(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            )));
        }
        if amz_date.get(..8) != Some(auth.date) {
            return Err(AuthError::Invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                amz_date.get(..8).unwrap_or(amz_date)
            )));
        }
        // Fail-closed: the host, the time and the operation must be covered by the signature,
        // so a captured request cannot be replayed elsewhere, later, or as another operation.
        for (name, shown) in [
            ("host", "'Host' or ':authority'"),
            ("x-amz-date", "'X-Amz-Date'"),
            ("x-amz-target", "'X-Amz-Target'"),
        ] {
            if !auth.signed_headers.split(';').any(|h| h == name) {
                return Err(AuthError::Invalid(format!(
                    "{shown} must be a 'SignedHeader' in the AWS Authorization."
                )));
            }
        }
        check_skew(signed_at, now)?;
        Ok(CheckedHead {
            identity: Arc::clone(identity),
            auth,
            amz_date,
        })
    }

    /// The signature of a request whose head passed [`check_head`](Self::check_head), over
    /// its canonical form and its body.
    pub fn verify(
        &self,
        head: &CheckedHead<'_>,
        request: &SignedRequest<'_>,
    ) -> Result<Arc<Identity>, AuthError> {
        // Hashed as it is written: no canonical request or string to sign is copied out.
        let canonical = sigv4::canonical_request_digest(
            request.method,
            request.path,
            request.query,
            request.headers,
            head.auth.signed_headers,
            request.body,
        )?;
        let expected = sigv4::signature_of_digest(
            &head.identity.signing_key(head.auth.date, head.auth.region),
            head.amz_date,
            head.auth.scope,
            &canonical,
        );
        let mut given = [0u8; 32];
        if hex::decode_to_slice(head.auth.signature, &mut given).is_err() {
            return Err(AuthError::Mismatch);
        }
        if bool::from(expected.ct_eq(&given)) {
            Ok(Arc::clone(&head.identity))
        } else {
            Err(AuthError::Mismatch)
        }
    }
}

/// A request head that passed [`Authenticator::check_head`]: whose key it claims to be signed
/// with, and the parts the signature check needs.
#[derive(Debug)]
pub struct CheckedHead<'h> {
    identity: Arc<Identity>,
    auth: Authorization<'h>,
    amz_date: &'h str,
}

impl CheckedHead<'_> {
    /// The Region of the credential scope: one the server serves, where the request is served.
    pub fn region(&self) -> &str {
        self.auth.region
    }
}

/// AWS's messages for a request signed too long ago or too far ahead.
fn check_skew(signed_at: DateTime<Utc>, now: SystemTime) -> Result<(), AuthError> {
    let now = DateTime::<Utc>::from(now);
    let skew = chrono::Duration::from_std(MAX_SKEW).unwrap_or_default();
    let format = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    if signed_at < now - skew {
        return Err(AuthError::Invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            format(signed_at),
            format(now - skew),
            format(now)
        )));
    }
    if signed_at > now + skew {
        return Err(AuthError::Invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            format(signed_at),
            format(now + skew),
            format(now)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// The five-minute window, with AWS's wording (a real KMS response: "Signature expired:
    /// 20181105T215603Z is now earlier than 20181105T221104Z (20181105T221604Z - 5 min.)").
    #[test]
    fn the_clock_skew_window_is_five_minutes_with_awss_words() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_541_456_164);
        let at = |offset: i64| DateTime::<Utc>::from(now) + chrono::Duration::seconds(offset);
        assert!(check_skew(at(-300), now).is_ok());
        assert!(check_skew(at(300), now).is_ok());
        assert_eq!(
            check_skew(at(-301), now).unwrap_err().message(),
            "Signature expired: 20181105T221103Z is now earlier than 20181105T221104Z (20181105T221604Z - 5 min.)"
        );
        assert!(
            check_skew(at(301), now)
                .unwrap_err()
                .message()
                .ends_with("(20181105T221604Z + 5 min.)")
        );
    }
}
