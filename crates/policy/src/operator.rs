//! The grammar of condition operator names: `[ForAllValues:|ForAnyValue:]Operator[IfExists]`.
//!
//! What each operator means is the `conditions` crate's business; which names exist is part of
//! the policy language and lives here.

use std::fmt;

/// A base condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(
    missing_docs,
    reason = "each variant is the IAM condition operator of the same name"
)]
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Null,
}

/// The family of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorFamily {
    /// String comparison (exact, case-insensitive, or glob).
    String,
    /// Integer or decimal comparison.
    Numeric,
    /// Instant comparison.
    Date,
    /// `true` / `false`.
    Bool,
    /// Base64-encoded bytes.
    Binary,
    /// CIDR containment.
    IpAddress,
    /// ARN comparison, segment by segment.
    Arn,
    /// Presence of the key.
    Null,
}

impl OperatorKind {
    /// Every base operator.
    pub const ALL: [Self; 27] = [
        Self::StringEquals,
        Self::StringNotEquals,
        Self::StringEqualsIgnoreCase,
        Self::StringNotEqualsIgnoreCase,
        Self::StringLike,
        Self::StringNotLike,
        Self::NumericEquals,
        Self::NumericNotEquals,
        Self::NumericLessThan,
        Self::NumericLessThanEquals,
        Self::NumericGreaterThan,
        Self::NumericGreaterThanEquals,
        Self::DateEquals,
        Self::DateNotEquals,
        Self::DateLessThan,
        Self::DateLessThanEquals,
        Self::DateGreaterThan,
        Self::DateGreaterThanEquals,
        Self::Bool,
        Self::BinaryEquals,
        Self::IpAddress,
        Self::NotIpAddress,
        Self::ArnEquals,
        Self::ArnNotEquals,
        Self::ArnLike,
        Self::ArnNotLike,
        Self::Null,
    ];

    /// The operator's name as AWS spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::StringEquals => "StringEquals",
            Self::StringNotEquals => "StringNotEquals",
            Self::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Self::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Self::StringLike => "StringLike",
            Self::StringNotLike => "StringNotLike",
            Self::NumericEquals => "NumericEquals",
            Self::NumericNotEquals => "NumericNotEquals",
            Self::NumericLessThan => "NumericLessThan",
            Self::NumericLessThanEquals => "NumericLessThanEquals",
            Self::NumericGreaterThan => "NumericGreaterThan",
            Self::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Self::DateEquals => "DateEquals",
            Self::DateNotEquals => "DateNotEquals",
            Self::DateLessThan => "DateLessThan",
            Self::DateLessThanEquals => "DateLessThanEquals",
            Self::DateGreaterThan => "DateGreaterThan",
            Self::DateGreaterThanEquals => "DateGreaterThanEquals",
            Self::Bool => "Bool",
            Self::BinaryEquals => "BinaryEquals",
            Self::IpAddress => "IpAddress",
            Self::NotIpAddress => "NotIpAddress",
            Self::ArnEquals => "ArnEquals",
            Self::ArnNotEquals => "ArnNotEquals",
            Self::ArnLike => "ArnLike",
            Self::ArnNotLike => "ArnNotLike",
            Self::Null => "Null",
        }
    }

    /// The family of values compared.
    pub const fn family(self) -> OperatorFamily {
        use OperatorKind::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => OperatorFamily::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => OperatorFamily::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => OperatorFamily::Date,
            Bool => OperatorFamily::Bool,
            BinaryEquals => OperatorFamily::Binary,
            IpAddress | NotIpAddress => OperatorFamily::IpAddress,
            ArnEquals | ArnNotEquals | ArnLike | ArnNotLike => OperatorFamily::Arn,
            Null => OperatorFamily::Null,
        }
    }

    /// Whether the operator is negated (several values combine by NOR; a missing key is true).
    /// Ordering operators such as `NumericLessThan` are not negated.
    pub const fn is_negated(self) -> bool {
        use OperatorKind::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables are substituted in this operator's values (IAM operators page).
    pub const fn accepts_policy_variables(self) -> bool {
        matches!(
            self.family(),
            OperatorFamily::String | OperatorFamily::Arn | OperatorFamily::Bool
        )
    }

    /// Parse the exact name of a base operator.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for OperatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set-operator qualifier for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAllValues:` every request value must match (true when the key is missing).
    ForAllValues,
    /// `ForAnyValue:` at least one request value must match (false when the key is missing).
    ForAnyValue,
}

impl SetQualifier {
    /// The prefix without its colon.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ForAllValues => "ForAllValues",
            Self::ForAnyValue => "ForAnyValue",
        }
    }
}

/// A full condition operator: qualifier, base operator, `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    /// `ForAllValues:` / `ForAnyValue:`, when given.
    pub qualifier: Option<SetQualifier>,
    /// The base operator.
    pub kind: OperatorKind,
    /// Whether the name ends in `IfExists`.
    pub if_exists: bool,
}

/// Why an operator name is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOperator {
    /// A correctly spelled name close to the one given, when there is one.
    pub suggestion: Option<String>,
}

impl ConditionOperator {
    /// A plain operator with no qualifier and no `IfExists`.
    pub const fn plain(kind: OperatorKind) -> Self {
        Self {
            qualifier: None,
            kind,
            if_exists: false,
        }
    }

    /// Parse an operator name. Names are case-sensitive, as AWS documents them; a name that
    /// differs only in case gets the correct spelling as a suggestion. `Null` has no `IfExists`.
    pub fn parse(name: &str) -> Result<Self, UnknownOperator> {
        if let Some(op) = Self::parse_exact(name) {
            return Ok(op);
        }
        let suggestion = Self::suggest(name);
        Err(UnknownOperator { suggestion })
    }

    fn parse_exact(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = OperatorKind::parse(base)?;
        if kind == OperatorKind::Null && if_exists {
            return None;
        }
        Some(Self {
            qualifier,
            kind,
            if_exists,
        })
    }

    fn suggest(name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let quals = ["", "ForAllValues:", "ForAnyValue:"];
        for qual in quals {
            for kind in OperatorKind::ALL {
                for suffix in ["", "IfExists"] {
                    if kind == OperatorKind::Null && !suffix.is_empty() {
                        continue;
                    }
                    let candidate = format!("{qual}{}{suffix}", kind.as_str());
                    if candidate.to_ascii_lowercase() == lower {
                        return Some(candidate);
                    }
                }
            }
        }
        if lower.starts_with("null") && lower.ends_with("ifexists") {
            return Some("Null".to_owned());
        }
        None
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(q) = self.qualifier {
            write!(f, "{}:", q.as_str())?;
        }
        f.write_str(self.kind.as_str())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for qualifier in [
            None,
            Some(SetQualifier::ForAllValues),
            Some(SetQualifier::ForAnyValue),
        ] {
            for kind in OperatorKind::ALL {
                for if_exists in [false, true] {
                    let op = ConditionOperator {
                        qualifier,
                        kind,
                        if_exists,
                    };
                    let parsed = ConditionOperator::parse(&op.to_string());
                    if kind == OperatorKind::Null && if_exists {
                        assert!(parsed.is_err(), "NullIfExists must not parse");
                    } else {
                        assert_eq!(parsed, Ok(op));
                    }
                }
            }
        }
    }

    /// IAM refuses a lowercase operator: "MalformedPolicyDocument: Invalid Condition type :
    /// stringEquals" (seen in ministryofjustice/modernisation-platform-environments#8893).
    #[test]
    fn operator_names_are_case_sensitive_with_a_suggestion() {
        let err = ConditionOperator::parse("stringequals").unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("StringEquals"));
        let err = ConditionOperator::parse("forallvalues:stringlikeifexists").unwrap_err();
        assert_eq!(
            err.suggestion.as_deref(),
            Some("ForAllValues:StringLikeIfExists")
        );
        assert_eq!(
            ConditionOperator::parse("NullIfExists")
                .unwrap_err()
                .suggestion
                .as_deref(),
            Some("Null")
        );
        assert!(
            ConditionOperator::parse("StringEqual")
                .unwrap_err()
                .suggestion
                .is_none()
        );
    }

    #[test]
    fn negated_operators_are_exactly_the_not_forms() {
        let negated: Vec<_> = OperatorKind::ALL
            .into_iter()
            .filter(|k| k.is_negated())
            .collect();
        assert_eq!(negated.len(), 8);
        for k in negated {
            assert!(k.as_str().contains("Not"), "{k}");
        }
        assert!(!OperatorKind::NumericLessThan.is_negated());
    }
}
