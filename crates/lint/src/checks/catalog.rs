//! Actions against the catalog: unknown actions (with "did you mean"), duplicates and patterns
//! covered by others in the same statement; and what a statement's actions set.

use crate::Raw;
use keyward_policy::catalog::{self, ActionId, ActionSet};
use keyward_policy::model::Statement;
use keyward_policy::suggest::did_you_mean;
use keyward_policy::wildcard::{Case, has_wildcard, match_chars};

/// The KMS actions one action pattern matches (any service prefix; `*` matches all).
pub(crate) fn pattern_actions(pattern: &str) -> ActionSet {
    // The common shapes by lookup: `kms:Name` and `kms:Prefix*` (names ignore case).
    if is_kms(pattern)
        && let Some(name) = pattern.get(4..)
    {
        if !has_wildcard(name) {
            return catalog::action_by_name(name)
                .map_or(ActionSet::EMPTY, |a| ActionSet::EMPTY.with(a));
        }
        if let Some(prefix) = name.strip_suffix('*')
            && !has_wildcard(prefix)
        {
            return catalog::actions_with_name_prefix(prefix);
        }
    }
    let mut set = ActionSet::EMPTY;
    for id in ActionId::all() {
        if match_chars(pattern, id.qualified_name(), Case::Insensitive) {
            set = set.with(id);
        }
    }
    set
}

/// The KMS actions a statement's `Action`/`NotAction` matches, after negation.
pub(crate) fn statement_actions(statement: &Statement) -> ActionSet {
    let set = statement
        .action
        .value
        .patterns
        .iter()
        .fold(ActionSet::EMPTY, |set, p| {
            set.union(pattern_actions(&p.value))
        });
    if statement.action.value.negated {
        set.complement()
    } else {
        set
    }
}

fn is_kms(pattern: &str) -> bool {
    pattern
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("kms:"))
}

pub(crate) fn actions(statement: &Statement, out: &mut Vec<Raw>) {
    let patterns = &statement.action.value.patterns;
    let sets: Vec<ActionSet> = patterns.iter().map(|p| pattern_actions(&p.value)).collect();
    for (index, pattern) in patterns.iter().enumerate() {
        let text = pattern.value.as_str();
        let set = sets.get(index).copied().unwrap_or(ActionSet::EMPTY);
        if is_kms(text) && set.is_empty() {
            let name = text.get(4..).unwrap_or_default();
            let message = if has_wildcard(name) {
                format!("`{text}` matches no KMS action")
            } else {
                let names = catalog::actions().iter().map(|a| a.name);
                match did_you_mean(name, names) {
                    Some(suggestion) => {
                        format!("`{text}` is not a KMS action: did you mean `kms:{suggestion}`?")
                    }
                    None => format!("`{text}` is not a KMS action"),
                }
            };
            out.push(Raw::new("unknown-action", pattern.span, message));
            continue;
        }
        // Listed twice, or covered by the other patterns of the statement.
        let duplicate = patterns
            .iter()
            .take(index)
            .any(|earlier| earlier.value.eq_ignore_ascii_case(text));
        let others = sets
            .iter()
            .enumerate()
            .filter(|(i, other)| *i != index && !other.is_empty())
            .fold(ActionSet::EMPTY, |acc, (_, other)| acc.union(*other));
        let covered = is_kms(text)
            && !set.is_empty()
            && set.union(others) == others
            && patterns.iter().enumerate().any(|(i, p)| {
                i != index && !p.value.eq_ignore_ascii_case(text) && has_wildcard(&p.value)
            });
        if duplicate {
            out.push(Raw::new(
                "shadowed-action",
                pattern.span,
                format!("`{text}` is listed twice in this statement; remove one"),
            ));
        } else if covered {
            out.push(Raw::new(
                "shadowed-action",
                pattern.span,
                format!("`{text}` is already covered by a wildcard in this statement; remove it"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_policy::wildcard::{Case, match_chars};

    /// The lookups give what matching every action's name gives.
    #[test]
    fn pattern_lookups_agree_with_matching_every_name() {
        let slow = |pattern: &str| {
            ActionId::all()
                .filter(|id| match_chars(pattern, id.qualified_name(), Case::Insensitive))
                .fold(ActionSet::EMPTY, ActionSet::with)
        };
        for pattern in [
            "kms:Decrypt",
            "KMS:decrypt",
            "kms:Decrpyt",
            "kms:Get*",
            "kms:get*",
            "kms:*",
            "kms:",
            "kms:Generate*",
            "kms:GenerateDataKey*",
            "kms:Re*",
            "kms:X*",
            "kms:*Key",
            "kms:Create?lias",
            "s3:GetObject",
            "*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
        ] {
            assert_eq!(pattern_actions(pattern), slow(pattern), "{pattern}");
        }
        for id in ActionId::all() {
            assert_eq!(
                pattern_actions(id.qualified_name()),
                ActionSet::EMPTY.with(id)
            );
        }
    }
}
