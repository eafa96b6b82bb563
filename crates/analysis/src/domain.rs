//! The values a condition key can take, cut into cells by the tests on it: every test has one
//! truth value on each cell, so one member per cell (and the key's absence) stands for every
//! request. Strings are cut by automata ([`crate::glob`]), numbers and dates at the constants
//! the tests name, addresses at the edges of the CIDR blocks, booleans into `true`, `false`
//! and anything else; a key whose value is a set takes every set of cells.

use crate::AnalysisError;
use crate::glob::{self, Glob, Predicate};
use crate::mentions::{KeyTests, Test};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ipnet::IpNet;
use keyward_conditions::value::{parse_instant, parse_network, parse_number};
use keyward_conditions::{ContextValue, RequestContext};
use keyward_policy::operator::{OperatorFamily, OperatorKind};
use rust_decimal::Decimal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A key's value in a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Value {
    /// The request does not carry the key.
    Absent,
    /// One value.
    One(String),
    /// A set of values (a multivalued key).
    Set(Vec<String>),
}

/// The values to try for one key: one per cell, and its absence.
#[derive(Debug, Clone)]
pub(crate) struct Domain {
    /// The condition key, as written in the policies.
    pub(crate) key: String,
    /// How findings name it (the key, or what it stands for).
    pub(crate) label: String,
    /// For a key of the encryption context (`kms:EncryptionContext:NAME`): NAME, the pair's
    /// key. Its values go into the request's encryption context, not its condition keys.
    pub(crate) context_name: Option<String>,
    pub(crate) values: Vec<Value>,
    /// Each value's cell in words (`= 10`, `matches s3.*`, `is absent`), by position.
    pub(crate) cells: Vec<String>,
    /// Each value as a request carries it (read once), by position, as a context of that one
    /// key that requests share as a layer; `None` for absent.
    pub(crate) layers: Vec<Option<Arc<RequestContext>>>,
}

impl Domain {
    /// The cells of the values at `indices`, in words, after the key's name: `kms:ViaService
    /// is absent or = s3.us-east-1.amazonaws.com`.
    pub(crate) fn describe_any(&self, indices: &std::collections::BTreeSet<usize>) -> String {
        let cells: Vec<&str> = indices
            .iter()
            .filter_map(|&i| self.cells.get(i).map(String::as_str))
            .collect();
        format!("{} {}", self.label, cells.join(" or "))
    }
}

/// One member of a cell, and the cell in words.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    text: String,
    cell: String,
}

impl Member {
    fn new(text: impl Into<String>, cell: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cell: cell.into(),
        }
    }
}

/// The most cells a multivalued key may have (its sets are every subset of them).
const MAX_SET_CELLS: usize = 10;

/// The domain of the condition key `key` given every test on it. `multivalued`: the catalog
/// says the key's value is a set.
pub(crate) fn domain(key: &KeyTests, multivalued: bool) -> Result<Domain, AnalysisError> {
    let members = merged(members(key, &[])?, key, &[], multivalued);
    let mut values = vec![Value::Absent];
    let mut cells = vec!["is absent".to_owned()];
    if multivalued {
        if members.len() > MAX_SET_CELLS {
            return Err(AnalysisError::Unsupported(format!(
                "{}: its values fall in {} cells, and the analysis tries every set of at most {MAX_SET_CELLS}",
                key.written,
                members.len()
            )));
        }
        for mask in 0u32..(1 << members.len()) {
            let chosen: Vec<&Member> = members
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, m)| m)
                .collect();
            values.push(Value::Set(chosen.iter().map(|m| m.text.clone()).collect()));
            cells.push(if chosen.is_empty() {
                "is an empty set".to_owned()
            } else {
                format!(
                    "is the set of {}",
                    chosen
                        .iter()
                        .map(|m| m
                            .cell
                            .strip_prefix("= ")
                            .map_or_else(|| format!("a value that {}", m.cell), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        }
    } else {
        for member in members {
            values.push(Value::One(member.text));
            cells.push(member.cell);
        }
    }
    let layers = values
        .iter()
        .map(|v| {
            let reading = match v {
                Value::Absent => return None,
                Value::One(text) => ContextValue::single(text),
                Value::Set(texts) => ContextValue::multi(texts.iter().map(String::as_str)),
            };
            let mut context = RequestContext::new();
            context.insert(&key.written, reading);
            Some(Arc::new(context))
        })
        .collect();
    Ok(Domain {
        key: key.written.clone(),
        label: key.written.clone(),
        context_name: None,
        values,
        cells,
        layers,
    })
}

/// The domain of the encryption-context pair named `name`: absent, or a value of each cell
/// that the tests on `kms:EncryptionContext:NAME` (any case of NAME: `tests`) and the grant
/// constraints' values for it (`literals`, compared exactly) cut. `named`: some policy or
/// grant names the key (otherwise it stands for every key none names).
pub(crate) fn context_domain(
    name: &str,
    tests: &KeyTests,
    literals: &[String],
    named: bool,
) -> Result<Domain, AnalysisError> {
    let key = format!("kms:EncryptionContext:{name}");
    let members = merged(members(tests, literals)?, tests, literals, false);
    let mut values = vec![Value::Absent];
    let mut cells = vec!["is absent".to_owned()];
    for member in members {
        values.push(Value::One(member.text));
        cells.push(member.cell);
    }
    Ok(Domain {
        label: if named {
            key.clone()
        } else {
            format!("{key} (a pair whose key no policy names)")
        },
        key,
        context_name: Some(name.to_owned()),
        layers: vec![None; values.len()],
        values,
        cells,
    })
}

/// Members whose every test has the same truth (by the evaluator itself, and by equality with
/// each of `literals`) are one cell: the first stands for them.
fn merged(
    members: Vec<Member>,
    key: &KeyTests,
    literals: &[String],
    multivalued: bool,
) -> Vec<Member> {
    let truth = |text: &str| -> Vec<bool> {
        let mut context = keyward_conditions::RequestContext::new();
        let value = if multivalued {
            ContextValue::multi([text])
        } else {
            ContextValue::single(text)
        };
        context.insert(&key.written, value);
        key.compiled
            .iter()
            .map(|t| t.holds(&context))
            .chain(literals.iter().map(|l| l == text))
            .collect()
    };
    let mut groups: Vec<(Vec<bool>, Vec<Member>)> = Vec::new();
    for member in members {
        let t = truth(&member.text);
        match groups.iter_mut().find(|(g, _)| *g == t) {
            Some((_, group)) => group.push(member),
            None => groups.push((t, vec![member])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(_, group)| {
            let first = group.first()?.clone();
            let bare = |m: &Member| {
                m.cell
                    .split_once(" (such as")
                    .map_or(m.cell.clone(), |(c, _)| c.to_owned())
            };
            // One description per kind of cell (`is outside 10.0.0.0/8` once, however many
            // runs of addresses it stands for).
            let mut kinds: Vec<&Member> = Vec::new();
            for m in &group {
                if !kinds.iter().any(|k| bare(k) == bare(m)) {
                    kinds.push(m);
                }
            }
            let cell = kinds
                .iter()
                .map(|m| m.cell.clone())
                .collect::<Vec<_>>()
                .join(" or ");
            Some(Member::new(first.text, cell))
        })
        .collect()
}

/// One member of each cell of the key's present values (`literals`: more values to tell
/// apart, compared exactly).
fn members(key: &KeyTests, literals: &[String]) -> Result<Vec<Member>, AnalysisError> {
    let valued: Vec<&Test> = key
        .tests
        .iter()
        .filter(|t| t.family() != OperatorFamily::Null)
        .collect();
    let families: Vec<OperatorFamily> = {
        let mut f: Vec<OperatorFamily> = valued.iter().map(|t| family_group(t.family())).collect();
        if !literals.is_empty() {
            f.push(OperatorFamily::String);
        }
        f.sort_by_key(|f| *f as u8);
        f.dedup();
        f
    };
    match families.as_slice() {
        [] => Ok(vec![Member::new("example", "is present")]),
        [OperatorFamily::String] => strings(key, &valued, literals),
        [OperatorFamily::Numeric] => Ok(numbers(&valued)),
        [OperatorFamily::Date] => Ok(dates(&valued)),
        [OperatorFamily::Bool] => Ok(vec![
            Member::new("true", "= true"),
            Member::new("false", "= false"),
            Member::new("maybe", "is neither true nor false (\"maybe\")"),
        ]),
        [OperatorFamily::IpAddress] => Ok(addresses(&valued)),
        _ => Err(AnalysisError::Unsupported(format!(
            "{} is compared as {} at once: the analysis reads a key one way",
            key.written,
            families
                .iter()
                .map(|f| format!("{f:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// Families compared as text: strings, ARNs and base64 (its text).
fn family_group(family: OperatorFamily) -> OperatorFamily {
    match family {
        OperatorFamily::Arn | OperatorFamily::Binary => OperatorFamily::String,
        other => other,
    }
}

/// The predicate a test's values make on the text of a value.
pub(crate) fn predicate(test: &Test) -> Option<Predicate> {
    let kind = test.kind();
    let any_of: Vec<Glob> = test
        .values
        .iter()
        .filter_map(|v| match kind {
            OperatorKind::StringEqualsIgnoreCase | OperatorKind::StringNotEqualsIgnoreCase => {
                Some(Glob::literal(v, true))
            }
            OperatorKind::StringLike | OperatorKind::StringNotLike => Some(Glob::like(v, false)),
            OperatorKind::ArnEquals
            | OperatorKind::ArnNotEquals
            | OperatorKind::ArnLike
            | OperatorKind::ArnNotLike => Glob::arn(v),
            _ => Some(Glob::literal(v, false)),
        })
        .collect();
    Some(Predicate { any_of })
}

fn strings(
    key: &KeyTests,
    tests: &[&Test],
    literals: &[String],
) -> Result<Vec<Member>, AnalysisError> {
    let mut predicates: Vec<Predicate> = tests.iter().filter_map(|t| predicate(t)).collect();
    predicates.extend(literals.iter().map(|l| Predicate {
        any_of: vec![Glob::literal(l, false)],
    }));
    let mut cells = glob::cells(&predicates, None, &key.written)?;
    // Readable members: a value written in a policy (a pattern with its wildcards filled),
    // else `example`, when it is in the cell.
    let mut preferred: Vec<String> = tests
        .iter()
        .flat_map(|t| t.values.iter())
        .chain(literals)
        .map(|v| v.replace('*', "").replace('?', "x"))
        .filter(|v| !v.is_empty())
        .collect();
    preferred.push("example".into());
    glob::prefer(&mut cells, &predicates, None, &preferred);
    Ok(cells
        .into_iter()
        .map(|c| {
            let cell = describe_text(&c.member, tests, literals);
            Member::new(c.member, cell)
        })
        .collect())
}

/// A string's cell in words: the values written that it equals or matches.
fn describe_text(text: &str, tests: &[&Test], literals: &[String]) -> String {
    let mut equal = literals.iter().any(|l| l == text);
    let mut matched: Vec<&str> = Vec::new();
    let mut written: Vec<&str> = Vec::new();
    for literal in literals {
        if !written.contains(&literal.as_str()) {
            written.push(literal);
        }
    }
    for test in tests {
        let Some(predicate) = predicate(test) else {
            continue;
        };
        for (value, glob) in test.values.iter().zip(&predicate.any_of) {
            if !written.contains(&value.as_str()) {
                written.push(value);
            }
            if glob.is_match(text) {
                equal |= value == text;
                if !matched.contains(&value.as_str()) {
                    matched.push(value);
                }
            }
        }
    }
    let list = |values: &[&str]| {
        values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if equal {
        format!("= {text}")
    } else if matched.is_empty() {
        format!("is none of {} (such as {text:?})", list(&written))
    } else {
        format!("matches {} (such as {text:?})", list(&matched))
    }
}

/// Below, at and between the constants, and above them; and a value that is no number.
fn numbers(tests: &[&Test]) -> Vec<Member> {
    let mut points: Vec<Decimal> = tests
        .iter()
        .flat_map(|t| t.values.iter())
        .filter_map(|v| parse_number(v))
        .collect();
    points.sort();
    points.dedup();
    let show = |d: Decimal| d.normalize().to_string();
    cut(
        &points,
        |p| *p - Decimal::ONE,
        |p, q| (*p + *q) / Decimal::TWO,
        |p| *p + Decimal::ONE,
        show,
        "not-a-number",
        "is not a number",
    )
}

/// Before, at and between the instants, and after them; and a value that is no date.
fn dates(tests: &[&Test]) -> Vec<Member> {
    let mut points: Vec<DateTime<Utc>> = tests
        .iter()
        .flat_map(|t| t.values.iter())
        .filter_map(|v| parse_instant(v))
        .collect();
    points.sort();
    points.dedup();
    let show = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    cut(
        &points,
        |p| *p - Duration::seconds(1),
        |p, q| *p + (*q - *p) / 2,
        |p| *p + Duration::seconds(1),
        show,
        "not-a-date",
        "is not a date",
    )
}

/// The cells sorted constants cut a line into: below the first, each constant, between each
/// two, above the last; and a value of another type.
fn cut<T>(
    points: &[T],
    below: impl Fn(&T) -> T,
    between: impl Fn(&T, &T) -> T,
    above: impl Fn(&T) -> T,
    show: impl Fn(T) -> String,
    other: &str,
    other_cell: &str,
) -> Vec<Member>
where
    T: Clone,
{
    let mut out = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let at = show(p.clone());
        if i == 0 {
            let value = show(below(p));
            out.push(Member::new(
                value.clone(),
                format!("< {at} (such as {value})"),
            ));
        }
        out.push(Member::new(at.clone(), format!("= {at}")));
        match points.get(i + 1) {
            Some(next) => {
                let value = show(between(p, next));
                out.push(Member::new(
                    value.clone(),
                    format!(
                        "is between {at} and {} (such as {value})",
                        show(next.clone())
                    ),
                ));
            }
            None => {
                let value = show(above(p));
                out.push(Member::new(
                    value.clone(),
                    format!("> {at} (such as {value})"),
                ));
            }
        }
    }
    out.push(Member::new(other, other_cell));
    out
}

/// An address in every run of addresses the blocks cut (both families), and a value that is
/// no address.
fn addresses(tests: &[&Test]) -> Vec<Member> {
    let mut networks: Vec<IpNet> = tests
        .iter()
        .flat_map(|t| t.values.iter())
        .filter_map(|v| parse_network(v))
        .collect();
    // Each block once, however many tests write it.
    networks.sort_unstable();
    networks.dedup();
    let mut v4: Vec<u32> = vec![0];
    let mut v6: Vec<u128> = vec![0];
    for net in &networks {
        match net {
            IpNet::V4(n) => {
                v4.push(u32::from(n.network()));
                if let Some(after) = u32::from(n.broadcast()).checked_add(1) {
                    v4.push(after);
                }
            }
            IpNet::V6(n) => {
                v6.push(u128::from(n.network()));
                if let Some(after) = u128::from(n.broadcast()).checked_add(1) {
                    v6.push(after);
                }
            }
        }
    }
    v4.sort_unstable();
    v4.dedup();
    v6.sort_unstable();
    v6.dedup();
    let addresses = v4.into_iter().map(|a| IpAddr::V4(Ipv4Addr::from(a))).chain(
        v6.into_iter()
            // An IPv4-mapped address is read as IPv4: those are covered above.
            .filter(|a| Ipv6Addr::from(*a).to_ipv4_mapped().is_none())
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    );
    let mut out: Vec<Member> = addresses
        .map(|address| {
            let inside: Vec<String> = networks
                .iter()
                .filter(|n| n.contains(&address))
                .map(ToString::to_string)
                .collect();
            let cell = if inside.is_empty() {
                format!(
                    "is outside {} (such as {address})",
                    networks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("is in {} (such as {address})", inside.join(", "))
            };
            Member::new(address.to_string(), cell)
        })
        .collect();
    out.push(Member::new("not-an-address", "is not an address"));
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use crate::mentions::Mentions;

    /// The tests on `key` of a policy whose one statement has `condition`.
    fn tests(condition: &str, key: &str) -> KeyTests {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{condition}}}]}}"#
        );
        let document =
            keyward_policy::parse_and_validate(&text, keyward_policy::PolicyKind::IdentityPolicy)
                .unwrap();
        let mut mentions = Mentions::default();
        mentions.add_policy(&document).unwrap();
        mentions.keys.remove(&key.to_ascii_lowercase()).unwrap()
    }

    fn ones(d: &Domain) -> Vec<String> {
        d.values
            .iter()
            .filter_map(|v| match v {
                Value::One(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn numbers_are_cut_at_the_constants_and_alike_cuts_are_one_cell() {
        let t = tests(
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"10"},"NumericGreaterThan":{"aws:MultiFactorAuthAge":"20"}}"#,
            "aws:MultiFactorAuthAge",
        );
        let d = domain(&t, false).unwrap();
        // Below 10; from 10 to 20 and no number at all (both tests false); above 20.
        assert_eq!(ones(&d), ["9", "10", "21"]);
        assert!(
            d.describe_any(&[2].into()).contains("or is not a number"),
            "{}",
            d.describe_any(&[2].into())
        );
    }

    #[test]
    fn a_block_cuts_the_addresses_in_and_outside_it() {
        let t = tests(
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            "aws:SourceIp",
        );
        let d = domain(&t, false).unwrap();
        assert_eq!(ones(&d), ["0.0.0.0", "10.0.0.0"]);
        assert_eq!(d.describe_any(&[0].into()), "aws:SourceIp is absent");
        assert_eq!(
            d.describe_any(&[2].into()),
            "aws:SourceIp is in 10.0.0.0/8 (such as 10.0.0.0)"
        );
    }

    #[test]
    fn a_set_key_takes_every_set_of_cells() {
        let t = tests(
            r#"{"ForAnyValue:StringEquals":{"kms:GrantOperations":"Decrypt"}}"#,
            "kms:GrantOperations",
        );
        let d = domain(&t, true).unwrap();
        // absent, {}, {Decrypt}, {other}, {Decrypt, other}
        assert_eq!(d.values.len(), 5);
        assert!(d.values.contains(&Value::Set(vec!["Decrypt".into()])));
    }

    #[test]
    fn a_written_value_is_preferred_as_the_member_of_its_cell() {
        let t = tests(
            r#"{"StringLike":{"kms:ViaService":"s3.*.amazonaws.com"}}"#,
            "kms:ViaService",
        );
        let d = domain(&t, false).unwrap();
        assert_eq!(ones(&d), ["example", "s3..amazonaws.com"]);
    }
}
