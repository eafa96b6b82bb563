//! "Did you mean …?" suggestions, shared by every place that rejects a name.

/// The candidate closest to `name`: an exact case-insensitive match first, then the nearest
/// by edit distance (transpositions count once) when it is close enough to be a typo.
pub fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let mut best: Option<(usize, &'c str)> = None;
    for candidate in candidates {
        if candidate.eq_ignore_ascii_case(name) {
            return Some(candidate);
        }
        let distance =
            strsim::osa_distance(&name.to_ascii_lowercase(), &candidate.to_ascii_lowercase());
        let limit = (candidate.len() / 4).clamp(1, 3);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_case_fixes_and_typos_but_not_strangers() {
        let names = ["Statement", "Version", "Id"];
        assert_eq!(did_you_mean("statement", names), Some("Statement"));
        assert_eq!(did_you_mean("Statment", names), Some("Statement"));
        assert_eq!(did_you_mean("Versoin", names), Some("Version"));
        assert_eq!(did_you_mean("Banana", names), None);
        assert_eq!(did_you_mean("", names), None);
    }
}
