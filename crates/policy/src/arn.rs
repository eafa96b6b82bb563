//! ARNs and ARN patterns, compared segment by segment.
//!
//! `arn:partition:service:region:account:resource` splits on its first five colons; the
//! resource part may hold more colons and slashes. A pattern's wildcards stay inside their
//! segment (`*` in the region never swallows the account), except that in the resource part
//! `*` crosses `/` and `:`. Comparison is case-sensitive.
//!
//! In a policy's `Resource`, a pattern may stop early with a segment that ends in `*`
//! (`arn:aws:kms:*`, `arn:aws:kms:us-east-1:*`): the IAM User Guide says such a trailing `*`
//! expands beyond the colons, so it matches every remaining segment ([`ArnPattern::resource`]).

use crate::wildcard::{Case, Wildcard, WildcardError};

/// The partition of a Region (botocore's `partitions.json`): `aws` unless the Region belongs to
/// one of the separate partitions (China, GovCloud, the ISO and European sovereign ones).
pub fn partition_of(region: &str) -> &'static str {
    const PARTITIONS: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// A parsed ARN, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arn<'a> {
    /// Partition, e.g. `aws`.
    pub partition: &'a str,
    /// Service, e.g. `kms`.
    pub service: &'a str,
    /// Region, possibly empty.
    pub region: &'a str,
    /// Account ID, possibly empty.
    pub account: &'a str,
    /// Resource, e.g. `key/1234abcd-...`.
    pub resource: &'a str,
    /// Everything after `arn:`, for patterns whose last segment spans the rest.
    after_prefix: &'a str,
}

/// A resource ARN parsed the first time a pattern needs it, and then never again: one per
/// request resource, shared by every statement that reads it. A request whose statements all
/// say `"Resource": "*"` never parses it. No allocation.
#[derive(Debug)]
pub struct LazyArn<'a> {
    text: &'a str,
    /// Where the text's parts are, when a request parsed it before.
    kept: Option<&'a ParsedArn>,
    parsed: std::cell::OnceCell<Option<Arn<'a>>>,
}

impl<'a> LazyArn<'a> {
    /// `text`, not parsed yet.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            kept: None,
            parsed: std::cell::OnceCell::new(),
        }
    }

    /// `text`, with what an earlier parse kept: when a pattern first needs the ARN, it is
    /// taken from `kept` if `kept` was made from this very text, and parsed otherwise.
    pub fn with_kept(text: &'a str, kept: &'a ParsedArn) -> Self {
        Self {
            text,
            kept: Some(kept),
            parsed: std::cell::OnceCell::new(),
        }
    }

    /// The text as given.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The ARN, parsed (or taken from what was kept) on the first call; `None` when the text
    /// is not an ARN.
    pub fn arn(&self) -> Option<&Arn<'a>> {
        self.parsed
            .get_or_init(|| match self.kept {
                Some(kept) => kept.get(self.text),
                None => Arn::parse(self.text),
            })
            .as_ref()
    }
}

/// An ARN parsed once and kept: the text it was made from and where the colons between its
/// parts are. It gives the ARN again without parsing, for as long as it is asked about the
/// same text (any other text is parsed afresh, never mistaken for the first). The default
/// keeps nothing, so every `get` parses. A request keeps its resource's so that its decisions
/// do not parse it ([`LazyArn::with_kept`]).
#[derive(Debug, Clone, Default)]
pub struct ParsedArn(Option<(std::sync::Arc<str>, [usize; 4])>);

impl ParsedArn {
    /// `text` parsed; nothing is kept when it is not an ARN.
    pub fn of(text: &str) -> Self {
        Self(colons(text).map(|at| (std::sync::Arc::from(text), at)))
    }

    /// The ARN `text` is (as [`Arn::parse`]), without parsing when it is the text this was
    /// made from.
    pub fn get<'a>(&self, text: &'a str) -> Option<Arn<'a>> {
        match &self.0 {
            Some((kept, at)) if **kept == *text => Arn::from_colons(text, *at),
            _ => Arn::parse(text),
        }
    }
}

/// The offsets, in the text after `arn:`, of the four colons that end the partition, the
/// service, the region and the account; `None` when `text` is not `arn:` plus five parts.
fn colons(text: &str) -> Option<[usize; 4]> {
    let rest = text.strip_prefix("arn:")?;
    // The first four colons after `arn:`, in one pass over the bytes.
    let mut colons = [0usize; 4];
    let mut found = 0;
    for (i, b) in rest.bytes().enumerate() {
        if b == b':' {
            if let Some(slot) = colons.get_mut(found) {
                *slot = i;
            }
            found += 1;
            if found == colons.len() {
                break;
            }
        }
    }
    (found == colons.len()).then_some(colons)
}

impl<'a> Arn<'a> {
    /// For a role session's ARN (`arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`), its
    /// role's name; `None` for any other ARN, a session name missing included. The one place
    /// that says what a session's role is ([`Arn::session_role_arn`]).
    pub fn session_role_name(&self) -> Option<&'a str> {
        if self.service != "sts" {
            return None;
        }
        let (role, session) = self
            .resource
            .strip_prefix("assumed-role/")?
            .split_once('/')?;
        (!role.is_empty() && !session.is_empty()).then_some(role)
    }

    /// For a role session's ARN, its role's ARN without a path
    /// (`arn:aws:sts::A:assumed-role/R/S` is a session of `arn:aws:iam::A:role/R`); `None` for
    /// any other ARN.
    pub fn session_role_arn(&self) -> Option<String> {
        let role = self.session_role_name()?;
        Some(format!(
            "arn:{}:iam::{}:role/{role}",
            self.partition, self.account
        ))
    }

    /// Split `text` into its six parts; `None` when it is not `arn:` plus five more parts.
    pub fn parse(text: &'a str) -> Option<Self> {
        Self::from_colons(text, colons(text)?)
    }

    /// `text` split at the colons [`colons`] found in it.
    fn from_colons(text: &'a str, [a, b, c, d]: [usize; 4]) -> Option<Self> {
        let rest = text.strip_prefix("arn:")?;
        Some(Self {
            partition: rest.get(..a)?,
            service: rest.get(a + 1..b)?,
            region: rest.get(b + 1..c)?,
            account: rest.get(c + 1..d)?,
            resource: rest.get(d + 1..)?,
            after_prefix: rest,
        })
    }

    /// The text from segment `index` (0 = partition) to the end, colons included.
    fn rest_from_segment(&self, index: usize) -> &'a str {
        let skip: usize = self
            .segments()
            .iter()
            .take(index)
            .map(|s| s.len() + 1)
            .sum();
        self.after_prefix.get(skip..).unwrap_or("")
    }

    /// The five parts after `arn:`, in order.
    pub const fn segments(&self) -> [&'a str; 5] {
        [
            self.partition,
            self.service,
            self.region,
            self.account,
            self.resource,
        ]
    }
}

/// A compiled ARN pattern: five wildcard segments, or (for a `Resource` that stops early with a
/// trailing `*`) fewer, the last of which is matched against the rest of the ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    segments: Box<[Wildcard]>,
}

/// Why an ARN pattern was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnPatternError {
    /// Not six colon-separated parts starting with `arn`.
    #[error("an ARN has six parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")]
    NotAnArn,
    /// A segment's pattern did not compile.
    #[error(transparent)]
    Wildcard(#[from] WildcardError),
}

impl ArnPattern {
    /// Compile `pattern` (which must be an ARN, possibly with wildcards).
    pub fn new(pattern: &str) -> Result<Self, ArnPatternError> {
        let arn = Arn::parse(pattern).ok_or(ArnPatternError::NotAnArn)?;
        Self::compile(&arn.segments())
    }

    /// Compile a policy's `Resource` pattern: an ARN pattern, or one that stops before the
    /// resource part with a segment ending in `*` (`arn:aws:kms:*`), whose `*` then spans the
    /// remaining segments, colons included (IAM User Guide, "IAM JSON policy elements:
    /// Resource").
    pub fn resource(pattern: &str) -> Result<Self, ArnPatternError> {
        if Arn::parse(pattern).is_some() {
            return Self::new(pattern);
        }
        let segments: Vec<&str> = pattern
            .strip_prefix("arn:")
            .ok_or(ArnPatternError::NotAnArn)?
            .split(':')
            .collect();
        match segments.last() {
            Some(last) if last.ends_with('*') => Self::compile(&segments),
            _ => Err(ArnPatternError::NotAnArn),
        }
    }

    fn compile(segments: &[&str]) -> Result<Self, ArnPatternError> {
        Ok(Self {
            segments: segments
                .iter()
                .map(|s| Wildcard::new(s, Case::Sensitive))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether `arn` matches every segment (for a pattern that stops early, its last segment
    /// matches the rest of the ARN).
    pub fn matches(&self, arn: &Arn<'_>) -> bool {
        let texts = arn.segments();
        let last = self.segments.len().saturating_sub(1);
        self.segments
            .iter()
            .enumerate()
            .all(|(i, pattern)| match texts.get(i) {
                Some(_) if i == last && last + 1 < texts.len() => {
                    pattern.is_match(arn.rest_from_segment(i))
                }
                Some(text) => pattern.is_match(text),
                None => false,
            })
    }

    /// Whether the text `arn` is an ARN that matches.
    pub fn matches_text(&self, arn: &str) -> bool {
        Arn::parse(arn).is_some_and(|a| self.matches(&a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, arn: &str) -> bool {
        ArnPattern::new(pattern)
            .map(|p| p.matches_text(arn))
            .unwrap_or(false)
    }

    proptest::proptest! {
        /// What a kept parse gives is what parsing gives, for the text it was made from and
        /// for any other text, which is parsed afresh, never read with the first one's colons.
        #[test]
        fn a_kept_parse_is_the_parse_of_the_text_asked_about(
            kept in "(arn:)?[a-z:/-]{0,30}",
            asked in "(arn:)?[a-z:/-]{0,30}",
        ) {
            let parsed = ParsedArn::of(&kept);
            proptest::prop_assert_eq!(parsed.get(&kept), Arn::parse(&kept));
            proptest::prop_assert_eq!(parsed.get(&asked), Arn::parse(&asked));
            let lazy = LazyArn::with_kept(&asked, &parsed);
            proptest::prop_assert_eq!(lazy.arn().cloned(), Arn::parse(&asked));
        }
    }

    #[test]
    fn a_sessions_role_is_named_only_for_a_whole_session_arn() {
        let role = |arn: &str| Arn::parse(arn).and_then(|a| a.session_role_arn());
        assert_eq!(
            role("arn:aws:sts::111122223333:assumed-role/App/worker-1").as_deref(),
            Some("arn:aws:iam::111122223333:role/App")
        );
        assert_eq!(
            role("arn:aws-cn:sts::111122223333:assumed-role/App/s").as_deref(),
            Some("arn:aws-cn:iam::111122223333:role/App")
        );
        for not_a_session in [
            "arn:aws:sts::111122223333:assumed-role/App",
            "arn:aws:sts::111122223333:assumed-role/App/",
            "arn:aws:sts::111122223333:assumed-role//s",
            "arn:aws:iam::111122223333:assumed-role/App/s",
            "arn:aws:sts::111122223333:federated-user/Bob",
            "arn:aws:iam::111122223333:role/App",
        ] {
            assert_eq!(role(not_a_session), None, "{not_a_session}");
        }
    }

    #[test]
    fn wildcards_stay_inside_their_segment() {
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(!m("arn:aws:someservice:*:111122223333:finance/*", value));
        assert!(m("arn:aws:someservice:*:999999999999:store/*", value));
    }

    #[test]
    fn the_resource_part_keeps_colons_and_slashes() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(m("arn:aws:kms:*:111122223333:key/*", key));
        assert!(m("arn:aws:kms:us-east-?:111122223333:*", key));
        assert!(!m("arn:aws:kms:*:111122223333:alias/*", key));
        assert!(!m(
            "arn:aws:kms:*:111122223333:key/*",
            "arn:aws:kms:us-east-1:111122223333"
        ));
        assert_eq!(
            Arn::parse("arn:aws:s3:::bucket/a:b").map(|a| a.resource),
            Some("bucket/a:b")
        );
    }

    #[test]
    fn parsing_splits_on_the_first_five_colons_only() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:111122223333:log-group:/app:*");
        assert_eq!(
            arn,
            Some(Arn {
                partition: "aws",
                service: "logs",
                region: "us-east-1",
                account: "111122223333",
                resource: "log-group:/app:*",
                after_prefix: "aws:logs:us-east-1:111122223333:log-group:/app:*",
            })
        );
        assert_eq!(
            Arn::parse("arn:::::").map(|a| a.segments()),
            Some(["", "", "", "", ""])
        );
        for not_an_arn in [
            "",
            "arn",
            "arn:",
            "arn:aws:kms:us-east-1",
            "arn:aws:kms:r:a",
            "ARN:aws:kms:r:a:k",
        ] {
            assert_eq!(Arn::parse(not_an_arn), None, "{not_an_arn}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_agrees_with_splitn(text in "(arn:)?[a-z:/*]{0,24}") {
            let mut parts = text.splitn(6, ':');
            let expected = match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("arn"), Some(p), Some(s), Some(r), Some(a), Some(res)) => Some([p, s, r, a, res]),
                _ => None,
            };
            proptest::prop_assert_eq!(Arn::parse(&text).map(|a| a.segments()), expected);
        }
    }

    #[test]
    fn comparison_is_case_sensitive() {
        assert!(!m(
            "arn:aws:kms:*:111122223333:KEY/*",
            "arn:aws:kms:us-east-1:111122223333:key/x"
        ));
        assert!(!m(
            "arn:AWS:kms:*:*:*",
            "arn:aws:kms:us-east-1:111122223333:key/x"
        ));
    }

    fn resource(pattern: &str, arn: &str) -> bool {
        ArnPattern::resource(pattern)
            .map(|p| p.matches_text(arn))
            .unwrap_or(false)
    }

    /// IAM User Guide, "IAM JSON policy elements: Resource": a `*` that ends a shortened ARN
    /// expands beyond the colons (`arn:aws:kms:*` is every KMS resource).
    #[test]
    fn a_trailing_star_in_a_shortened_resource_spans_the_remaining_segments() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(resource("arn:aws:kms:*", key));
        assert!(resource("arn:aws:kms:us-east-1:*", key));
        assert!(resource("arn:aws:kms:us-*", key));
        assert!(resource("arn:aws:*", key));
        assert!(resource("arn:*", key));
        assert!(!resource("arn:aws:kms:eu-west-1:*", key));
        assert!(!resource("arn:aws:s3:*", key));
        assert!(!resource("arn:aws-cn:kms:*", key));
        // Only a last segment ending in `*` stands for the rest; other short forms are refused.
        assert_eq!(
            ArnPattern::resource("arn:aws:kms:us-east-1"),
            Err(ArnPatternError::NotAnArn)
        );
        assert_eq!(
            ArnPattern::resource("key/*"),
            Err(ArnPatternError::NotAnArn)
        );
        // Conditions keep the strict form.
        assert_eq!(
            ArnPattern::new("arn:aws:kms:*"),
            Err(ArnPatternError::NotAnArn)
        );
        // A full pattern is unchanged: the region's `*` stays in the region.
        assert!(!resource(
            "arn:aws:kms:*:111122223333:key/*",
            "arn:aws:kms:us-east-1:999999999999:key/x"
        ));
    }

    #[test]
    fn regions_belong_to_their_partitions() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }

    #[test]
    fn a_pattern_must_be_an_arn() {
        assert_eq!(ArnPattern::new("key/*"), Err(ArnPatternError::NotAnArn));
        assert_eq!(
            ArnPattern::new("arn:aws:kms"),
            Err(ArnPatternError::NotAnArn)
        );
        assert!(ArnPattern::new("arn:aws:s3:::b").is_ok());
    }
}
