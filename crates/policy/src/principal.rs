//! Principals: parsing the values of `Principal` and of a request's caller into kinds.
//!
//! One parser serves both sides. In a policy, `arn:aws:iam::ACCT:root` and the bare account ID
//! both name the *account* (and delegate to its IAM policies); as a caller, the `root` ARN is
//! the account's root user.

use crate::arn::Arn;
use crate::model::PrincipalType;
use std::fmt;
use std::sync::Arc;

/// A parsed principal. Borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal<'a> {
    /// `"*"` (or `{"AWS": "*"}`): every principal, including anonymous callers.
    Everyone,
    /// A bare 12-digit account ID: the account principal.
    Account {
        /// The 12-digit account ID.
        account: &'a str,
    },
    /// `arn:PARTITION:iam::ACCT:root`: the account principal (in a policy) or its root user
    /// (as a caller).
    Root {
        /// The ARN partition (`aws`, `aws-cn`, ...).
        partition: &'a str,
        /// The 12-digit account ID.
        account: &'a str,
    },
    /// `arn:PARTITION:iam::ACCT:user/PATH/NAME`.
    User {
        /// The ARN partition.
        partition: &'a str,
        /// The 12-digit account ID.
        account: &'a str,
        /// The user name (last path segment).
        name: &'a str,
    },
    /// `arn:PARTITION:iam::ACCT:role/PATH/NAME`.
    Role {
        /// The ARN partition.
        partition: &'a str,
        /// The 12-digit account ID.
        account: &'a str,
        /// The role name (last path segment).
        name: &'a str,
    },
    /// `arn:PARTITION:sts::ACCT:assumed-role/ROLE/SESSION`.
    AssumedRole {
        /// The ARN partition.
        partition: &'a str,
        /// The 12-digit account ID.
        account: &'a str,
        /// The role name (an assumed-role ARN carries no role path).
        role: &'a str,
        /// The session name.
        session: &'a str,
    },
    /// `arn:PARTITION:sts::ACCT:federated-user/NAME`.
    FederatedUser {
        /// The ARN partition.
        partition: &'a str,
        /// The 12-digit account ID.
        account: &'a str,
        /// The federated user name.
        name: &'a str,
    },
    /// An AWS service principal such as `s3.amazonaws.com`.
    Service {
        /// The service principal name.
        name: &'a str,
    },
    /// An identity provider: a SAML/OIDC provider ARN or a web identity host.
    IdentityProvider {
        /// The provider ARN or host.
        name: &'a str,
    },
    /// An S3 canonical user ID (64 hex digits).
    CanonicalUser {
        /// The canonical ID.
        id: &'a str,
    },
    /// A unique ID (`AIDA…`, `AROA…`): what AWS shows when the user or role named in a policy
    /// was deleted. It never matches a caller.
    UniqueId {
        /// The unique ID.
        id: &'a str,
    },
}

/// Why a principal value is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalError {
    /// A `*` or `?` used as part of a value.
    PartialWildcard,
    /// Not a principal of its type; the reason says what is expected.
    Invalid(String),
}

impl fmt::Display for PrincipalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PartialWildcard => {
                f.write_str("a wildcard may not stand for part of a principal")
            }
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

fn invalid(reason: impl Into<String>) -> PrincipalError {
    PrincipalError::Invalid(reason.into())
}

/// Whether `text` is a 12-digit AWS account ID.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_partition(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// Characters IAM allows in user, role and session names and path segments.
fn is_iam_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.contains('.')
        && !text.starts_with('.')
        && !text.ends_with('.')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn is_unique_id(text: &str) -> bool {
    let prefixes = ["AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ASIA"];
    text.len() >= 16
        && text.len() <= 128
        && prefixes.iter().any(|p| text.starts_with(p))
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The six parts of an IAM or STS ARN: partition, service, account, resource.
fn split_identity_arn(text: &str) -> Result<(&str, &str, &str, &str), PrincipalError> {
    let Some(Arn {
        partition,
        service,
        region,
        account,
        resource,
        ..
    }) = Arn::parse(text)
    else {
        return Err(invalid(
            "an ARN has six parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
        ));
    };
    if !is_partition(partition) {
        return Err(invalid(format!(
            "\"{partition}\" is not an ARN partition such as \"aws\""
        )));
    }
    if !region.is_empty() {
        return Err(invalid(
            "IAM and STS ARNs have an empty region part (\"iam::\")",
        ));
    }
    if !is_account_id(account) {
        return Err(invalid(format!(
            "\"{account}\" is not a 12-digit account ID"
        )));
    }
    Ok((partition, service, account, resource))
}

impl<'a> Principal<'a> {
    /// Parse a value written under `namespace` in a policy's `Principal` element.
    pub fn parse_in_policy(
        namespace: PrincipalType,
        text: &'a str,
    ) -> Result<Self, PrincipalError> {
        if text != "*"
            && (text.contains('*') || (namespace == PrincipalType::Aws && text.contains('?')))
        {
            return Err(PrincipalError::PartialWildcard);
        }
        match namespace {
            PrincipalType::Aws => Self::parse_aws(text),
            PrincipalType::Service => {
                if text == "*" {
                    Err(invalid(
                        "a service principal names one service, such as \"s3.amazonaws.com\"",
                    ))
                } else if is_host_name(text) {
                    Ok(Self::Service { name: text })
                } else {
                    Err(invalid(
                        "expected a service principal such as \"s3.amazonaws.com\"",
                    ))
                }
            }
            PrincipalType::Federated => {
                if text.starts_with("arn:") {
                    let (_, service, _, resource) = split_identity_arn(text)?;
                    let provider = resource
                        .strip_prefix("saml-provider/")
                        .or_else(|| resource.strip_prefix("oidc-provider/"));
                    match provider {
                        Some(name) if service == "iam" && !name.is_empty() => {
                            Ok(Self::IdentityProvider { name: text })
                        }
                        _ => Err(invalid(
                            "a federated principal ARN names an IAM saml-provider/ or oidc-provider/",
                        )),
                    }
                } else if is_host_name(text) {
                    Ok(Self::IdentityProvider { name: text })
                } else {
                    Err(invalid(
                        "expected an identity provider such as \"cognito-identity.amazonaws.com\" or a SAML/OIDC provider ARN",
                    ))
                }
            }
            PrincipalType::CanonicalUser => {
                if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Self::CanonicalUser { id: text })
                } else {
                    Err(invalid("a canonical user ID is 64 hexadecimal digits"))
                }
            }
        }
    }

    /// Parse a request's caller: an IAM/STS ARN, an account root ARN, or a service principal.
    pub fn parse_caller(text: &'a str) -> Result<Self, PrincipalError> {
        if text.starts_with("arn:") || is_account_id(text) {
            match Self::parse_aws(text)? {
                Self::Account { .. } => Err(invalid(
                    "a caller is an identity; name the account's root user as arn:aws:iam::ACCOUNT:root",
                )),
                p => Ok(p),
            }
        } else if is_host_name(text) {
            Ok(Self::Service { name: text })
        } else {
            Err(invalid(
                "expected an IAM or STS ARN, or a service principal such as \"s3.amazonaws.com\"",
            ))
        }
    }

    fn parse_aws(text: &'a str) -> Result<Self, PrincipalError> {
        if text == "*" {
            return Ok(Self::Everyone);
        }
        if is_account_id(text) {
            return Ok(Self::Account { account: text });
        }
        if is_unique_id(text) {
            return Ok(Self::UniqueId { id: text });
        }
        if !text.starts_with("arn:") {
            return Err(invalid(
                "expected \"*\", a 12-digit account ID, or an IAM or STS ARN",
            ));
        }
        let (partition, service, account, resource) = split_identity_arn(text)?;
        match service {
            "iam" => {
                if resource == "root" {
                    return Ok(Self::Root { partition, account });
                }
                let Some((kind, rest)) = resource.split_once('/') else {
                    return Err(invalid(format!(
                        "\"{resource}\" is not an IAM principal; expected root, user/NAME or role/NAME"
                    )));
                };
                let name = iam_path_name(rest)?;
                match kind {
                    "user" => Ok(Self::User {
                        partition,
                        account,
                        name,
                    }),
                    "role" => Ok(Self::Role {
                        partition,
                        account,
                        name,
                    }),
                    "group" => Err(invalid(
                        "IAM groups are never valid principals; name the users or roles, or use a condition",
                    )),
                    _ => Err(invalid(format!(
                        "\"{kind}\" is not an IAM principal type; expected user or role"
                    ))),
                }
            }
            "sts" => {
                if let Some(rest) = resource.strip_prefix("assumed-role/") {
                    match rest.split_once('/') {
                        Some((role, session)) if is_iam_name(role) && is_iam_name(session) => {
                            Ok(Self::AssumedRole {
                                partition,
                                account,
                                role,
                                session,
                            })
                        }
                        _ => Err(invalid(
                            "an assumed-role ARN is sts::ACCOUNT:assumed-role/ROLE/SESSION",
                        )),
                    }
                } else if let Some(name) = resource.strip_prefix("federated-user/") {
                    if is_iam_name(name) {
                        Ok(Self::FederatedUser {
                            partition,
                            account,
                            name,
                        })
                    } else {
                        Err(invalid(
                            "a federated user ARN is sts::ACCOUNT:federated-user/NAME",
                        ))
                    }
                } else {
                    Err(invalid(
                        "an STS principal is assumed-role/ROLE/SESSION or federated-user/NAME",
                    ))
                }
            }
            other => Err(invalid(format!(
                "\"{other}\" ARNs are not principals; principals are IAM (iam) or STS (sts) ARNs"
            ))),
        }
    }

    /// The 12-digit account of this principal, when it has one.
    pub fn account(&self) -> Option<&'a str> {
        match *self {
            Self::Account { account }
            | Self::Root { account, .. }
            | Self::User { account, .. }
            | Self::Role { account, .. }
            | Self::AssumedRole { account, .. }
            | Self::FederatedUser { account, .. } => Some(account),
            Self::Everyone
            | Self::Service { .. }
            | Self::IdentityProvider { .. }
            | Self::CanonicalUser { .. }
            | Self::UniqueId { .. } => None,
        }
    }

    /// Whether this names an account as a whole (bare ID or `:root` ARN).
    pub fn is_account_principal(&self) -> bool {
        matches!(self, Self::Account { .. } | Self::Root { .. })
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Account { .. } => "account",
            Self::Root { .. } => "account root",
            Self::User { .. } => "IAM user",
            Self::Role { .. } => "IAM role",
            Self::AssumedRole { .. } => "assumed-role session",
            Self::FederatedUser { .. } => "federated user",
            Self::Service { .. } => "service",
            Self::IdentityProvider { .. } => "identity provider",
            Self::CanonicalUser { .. } => "canonical user",
            Self::UniqueId { .. } => "unique ID",
        }
    }
}

/// `PATH/NAME` after `user/` or `role/`: every segment a valid IAM name; returns NAME.
fn iam_path_name(rest: &str) -> Result<&str, PrincipalError> {
    let mut segments = rest.split('/');
    let name = segments.next_back().unwrap_or("");
    if !is_iam_name(name) {
        return Err(invalid(format!(
            "\"{name}\" is not a valid IAM name (letters, digits and +=,.@_-)"
        )));
    }
    if segments.any(|s| !is_iam_name(s)) {
        return Err(invalid("the IAM path has an empty or invalid segment"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PrincipalType::*;

    #[test]
    fn every_kind_parses() {
        let cases: &[(PrincipalType, &str, &str)] = &[
            (Aws, "*", "everyone"),
            (Aws, "111122223333", "account"),
            (Aws, "arn:aws:iam::111122223333:root", "account root"),
            (Aws, "arn:aws:iam::111122223333:user/alice", "IAM user"),
            (
                Aws,
                "arn:aws:iam::111122223333:user/division/team/alice",
                "IAM user",
            ),
            (Aws, "arn:aws-cn:iam::111122223333:role/App", "IAM role"),
            (
                Aws,
                "arn:aws:sts::111122223333:assumed-role/App/session-1",
                "assumed-role session",
            ),
            (
                Aws,
                "arn:aws:sts::111122223333:federated-user/bob",
                "federated user",
            ),
            (Aws, "AROAEXAMPLEID1234567", "unique ID"),
            (Service, "s3.amazonaws.com", "service"),
            (
                Federated,
                "cognito-identity.amazonaws.com",
                "identity provider",
            ),
            (
                Federated,
                "arn:aws:iam::111122223333:saml-provider/Okta",
                "identity provider",
            ),
            (CanonicalUser, &"a".repeat(64), "canonical user"),
        ];
        for (ns, text, kind) in cases {
            let p = Principal::parse_in_policy(*ns, text);
            assert_eq!(p.map(|p| p.kind_name()), Ok(*kind), "{text}");
        }
    }

    #[test]
    fn role_path_and_names_are_split() {
        let p = Principal::parse_in_policy(Aws, "arn:aws:iam::111122223333:role/service-role/App");
        assert_eq!(
            p,
            Ok(Principal::Role {
                partition: "aws",
                account: "111122223333",
                name: "App"
            })
        );
        let s = Principal::parse_caller("arn:aws:sts::111122223333:assumed-role/App/s1");
        assert_eq!(
            s,
            Ok(Principal::AssumedRole {
                partition: "aws",
                account: "111122223333",
                role: "App",
                session: "s1"
            })
        );
    }

    #[test]
    fn partial_wildcards_are_rejected() {
        for text in [
            "arn:aws:iam::111122223333:user/*",
            "arn:aws:iam::*:root",
            "1111*",
            "arn:aws:iam::111122223333:role/App?",
        ] {
            assert_eq!(
                Principal::parse_in_policy(Aws, text),
                Err(PrincipalError::PartialWildcard),
                "{text}"
            );
        }
        assert_eq!(
            Principal::parse_in_policy(Service, "*.amazonaws.com"),
            Err(PrincipalError::PartialWildcard)
        );
    }

    #[test]
    fn malformed_principals_say_why() {
        for text in [
            "arn:aws:iam::111122223333:group/Admins",
            "arn:aws:iam::11112222333:root",
            "arn:aws:iam:us-east-1:111122223333:root",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:user//alice",
            "arn:aws:sts::111122223333:assumed-role/App",
            "alice",
            "arn:aws:iam::111122223333",
            "",
        ] {
            assert!(
                matches!(
                    Principal::parse_in_policy(Aws, text),
                    Err(PrincipalError::Invalid(_))
                ),
                "{text}"
            );
        }
        assert!(Principal::parse_in_policy(Service, "not a service").is_err());
        assert!(Principal::parse_in_policy(CanonicalUser, "abc").is_err());
        assert!(Principal::parse_in_policy(Federated, "arn:aws:iam::111122223333:role/X").is_err());
    }

    #[test]
    fn a_caller_is_never_a_bare_account() {
        assert!(Principal::parse_caller("111122223333").is_err());
        assert_eq!(
            Principal::parse_caller("s3.amazonaws.com"),
            Ok(Principal::Service {
                name: "s3.amazonaws.com"
            })
        );
        assert_eq!(
            Principal::parse_caller("arn:aws:iam::111122223333:root").map(|p| p.account()),
            Ok(Some("111122223333"))
        );
    }
}

/// A caller parsed once and kept with the text it was parsed from: [`ParsedCaller::get`] gives
/// the principal again without parsing, for as long as it is asked about the same text (any
/// other text is parsed afresh, never mistaken for the first). Cloning keeps what was parsed.
/// The default keeps nothing, so every `get` parses. The text is shared: a caller made once
/// (the key service's) gives every request its parse for the cost of a count.
#[derive(Debug, Clone, Default)]
pub struct ParsedCaller(Option<(Arc<str>, Shape)>);

/// Which principal, and where each of its parts is in the text (byte ranges).
#[derive(Debug, Clone, Copy)]
struct Shape {
    kind: Kind,
    parts: [(usize, usize); 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Everyone,
    Account,
    Root,
    User,
    Role,
    AssumedRole,
    FederatedUser,
    Service,
    IdentityProvider,
    CanonicalUser,
    UniqueId,
}

impl ParsedCaller {
    /// The cache of `principal`, which `text` was parsed into.
    pub fn of(text: &str, principal: &Principal<'_>) -> Self {
        Self(Shape::of(principal, text).map(|s| (Arc::from(text), s)))
    }

    /// The caller `text` names (as [`Principal::parse_caller`]), without parsing when it is
    /// the text this was made from.
    pub fn get<'a>(&self, text: &'a str) -> Option<Principal<'a>> {
        if let Some((parsed, shape)) = &self.0
            && **parsed == *text
        {
            return shape.resolve(text);
        }
        Principal::parse_caller(text).ok()
    }
}

impl Shape {
    /// Where `principal`'s parts are in `text`; `None` if a part is not a slice of it.
    fn of(principal: &Principal<'_>, text: &str) -> Option<Self> {
        let at = |part: &str| {
            let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
            let end = start.checked_add(part.len())?;
            (end <= text.len()).then_some((start, end))
        };
        let (kind, parts): (Kind, [Option<&str>; 4]) = match principal {
            Principal::Everyone => (Kind::Everyone, [None; 4]),
            Principal::Account { account } => (Kind::Account, [Some(account), None, None, None]),
            Principal::Root { partition, account } => {
                (Kind::Root, [Some(partition), Some(account), None, None])
            }
            Principal::User {
                partition,
                account,
                name,
            } => (
                Kind::User,
                [Some(partition), Some(account), Some(name), None],
            ),
            Principal::Role {
                partition,
                account,
                name,
            } => (
                Kind::Role,
                [Some(partition), Some(account), Some(name), None],
            ),
            Principal::AssumedRole {
                partition,
                account,
                role,
                session,
            } => (
                Kind::AssumedRole,
                [Some(partition), Some(account), Some(role), Some(session)],
            ),
            Principal::FederatedUser {
                partition,
                account,
                name,
            } => (
                Kind::FederatedUser,
                [Some(partition), Some(account), Some(name), None],
            ),
            Principal::Service { name } => (Kind::Service, [Some(name), None, None, None]),
            Principal::IdentityProvider { name } => {
                (Kind::IdentityProvider, [Some(name), None, None, None])
            }
            Principal::CanonicalUser { id } => (Kind::CanonicalUser, [Some(id), None, None, None]),
            Principal::UniqueId { id } => (Kind::UniqueId, [Some(id), None, None, None]),
        };
        let mut ranges = [(0, 0); 4];
        for (range, part) in ranges.iter_mut().zip(parts) {
            if let Some(part) = part {
                *range = at(part)?;
            }
        }
        Some(Self {
            kind,
            parts: ranges,
        })
    }

    /// The principal again, its parts sliced from `text`.
    fn resolve<'a>(&self, text: &'a str) -> Option<Principal<'a>> {
        let [a, b, c, d] = self.parts;
        let part = |(start, end): (usize, usize)| text.get(start..end);
        Some(match self.kind {
            Kind::Everyone => Principal::Everyone,
            Kind::Account => Principal::Account { account: part(a)? },
            Kind::Root => Principal::Root {
                partition: part(a)?,
                account: part(b)?,
            },
            Kind::User => Principal::User {
                partition: part(a)?,
                account: part(b)?,
                name: part(c)?,
            },
            Kind::Role => Principal::Role {
                partition: part(a)?,
                account: part(b)?,
                name: part(c)?,
            },
            Kind::AssumedRole => Principal::AssumedRole {
                partition: part(a)?,
                account: part(b)?,
                role: part(c)?,
                session: part(d)?,
            },
            Kind::FederatedUser => Principal::FederatedUser {
                partition: part(a)?,
                account: part(b)?,
                name: part(c)?,
            },
            Kind::Service => Principal::Service { name: part(a)? },
            Kind::IdentityProvider => Principal::IdentityProvider { name: part(a)? },
            Kind::CanonicalUser => Principal::CanonicalUser { id: part(a)? },
            Kind::UniqueId => Principal::UniqueId { id: part(a)? },
        })
    }
}

#[cfg(test)]
mod parsed_caller_tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// The cache gives what parsing gives, for every kind of caller, and never the first
    /// text's principal for another text.
    #[test]
    fn a_parsed_caller_is_what_parsing_gives_and_only_for_its_own_text() {
        for text in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/path/alice",
            "arn:aws:iam::111122223333:role/Admin",
            "arn:aws:sts::111122223333:assumed-role/Admin/session",
            "arn:aws:sts::111122223333:federated-user/bob",
            "arn:aws-cn:iam::111122223333:role/x",
            "s3.amazonaws.com",
            "not a caller",
        ] {
            let cache = match Principal::parse_caller(text) {
                Ok(parsed) => ParsedCaller::of(text, &parsed),
                Err(_) => ParsedCaller::default(),
            };
            for _ in 0..2 {
                assert_eq!(
                    cache.get(text),
                    Principal::parse_caller(text).ok(),
                    "{text}"
                );
            }
            let copy = cache.clone();
            assert_eq!(copy.get(text), Principal::parse_caller(text).ok(), "{text}");
            assert_eq!(
                ParsedCaller::default().get(text),
                Principal::parse_caller(text).ok()
            );
            let other = "arn:aws:iam::444455556666:user/eve";
            assert_eq!(cache.get(other), Principal::parse_caller(other).ok());
        }
    }
}
