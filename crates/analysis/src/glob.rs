//! Strings as finite automata: the patterns a policy writes (literal text, `StringLike`
//! globs, `ArnLike` patterns matched segment by segment, with or without case) and the shapes
//! a value must have (a principal ARN, a 12-digit account). [`cells`] partitions the strings a
//! set of predicates can see into cells, each a set of strings on which every predicate has
//! one truth value, with a shortest member of each: every value in a cell is decided the same
//! way by every policy, so one member stands for all.

use crate::AnalysisError;
use std::collections::{HashMap, HashSet};

/// The characters one wildcard position admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    /// Any character.
    Any,
    /// Any character but `:` (inside an ARN segment).
    NotColon,
    /// A decimal digit.
    Digit,
    /// A character of an IAM name: letters, digits and `+=,.@_-` (a path adds `/`).
    NameNotSlash,
    /// A character of a KMS alias name after `alias/`: letters, digits and `/_-`.
    AliasName,
}

impl Class {
    fn admits(self, c: char) -> bool {
        match self {
            Self::Any => true,
            Self::NotColon => c != ':',
            Self::Digit => c.is_ascii_digit(),
            Self::NameNotSlash => c.is_ascii_alphanumeric() || "+=,.@_-".contains(c),
            Self::AliasName => c.is_ascii_alphanumeric() || "/_-".contains(c),
        }
    }
}

/// One position of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Item {
    /// This character (both cases when the pattern ignores case).
    Char(char),
    /// One character of the class.
    One(Class),
    /// Any number of characters of the class.
    Star(Class),
    /// An IAM name with an optional path, `seg(/seg)*` of name characters but `/`; only as a
    /// pattern's last item.
    Path,
}

/// A pattern over strings: items matched in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Glob {
    items: Vec<Item>,
    /// Letters compare without case (simple Unicode lowercase, per character).
    fold: bool,
}

impl Glob {
    /// The one text the glob matches, when it is a case-sensitive literal.
    fn literal_text(&self) -> Option<String> {
        if self.fold {
            return None;
        }
        self.items
            .iter()
            .map(|i| match i {
                Item::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether the glob is the case-sensitive literal `text`: it matches that text alone.
    pub(crate) fn is_literal_of(&self, text: &str) -> bool {
        !self.fold
            && self.items.len() == text.chars().count()
            && self
                .items
                .iter()
                .zip(text.chars())
                .all(|(i, c)| *i == Item::Char(c))
    }

    /// Exactly `text`.
    pub(crate) fn literal(text: &str, fold: bool) -> Self {
        Self {
            items: text.chars().map(Item::Char).collect(),
            fold,
        }
    }

    /// A `StringLike` pattern: `*` any run of characters, `?` one character.
    pub(crate) fn like(pattern: &str, fold: bool) -> Self {
        Self {
            items: like_items(pattern, Class::Any),
            fold,
        }
    }

    /// An `ArnLike` / `ArnEquals` pattern: six parts split at the first five colons, each
    /// matched on its own (a wildcard in the first five stays inside its part; in the resource
    /// part it spans colons). `None` when `pattern` is not an ARN.
    pub(crate) fn arn(pattern: &str) -> Option<Self> {
        let rest = pattern.strip_prefix("arn:")?;
        let mut parts = rest.splitn(5, ':');
        let mut items: Vec<Item> = "arn:".chars().map(Item::Char).collect();
        for _ in 0..4 {
            items.extend(like_items(parts.next()?, Class::NotColon));
            items.push(Item::Char(':'));
        }
        items.extend(like_items(parts.next()?, Class::Any));
        Some(Self { items, fold: false })
    }

    /// A policy's `Resource` pattern as `authz` matches it (`ArnPattern::resource`): an ARN
    /// pattern matched part by part, or one that stops before the resource part with a part
    /// ending in `*`, whose `*` then spans the rest of the ARN, colons included. `None` when
    /// `pattern` is neither (it matches no ARN).
    pub(crate) fn resource(pattern: &str) -> Option<Self> {
        let rest = pattern.strip_prefix("arn:")?;
        if rest.matches(':').count() >= 4 {
            return Self::arn(pattern);
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let (last, before) = parts.split_last()?;
        if !last.ends_with('*') {
            return None;
        }
        let mut items: Vec<Item> = "arn:".chars().map(Item::Char).collect();
        for part in before {
            items.extend(like_items(part, Class::NotColon));
            items.push(Item::Char(':'));
        }
        items.extend(like_items(last, Class::Any));
        Some(Self { items, fold: false })
    }

    /// The ARNs of the aliases under `prefix` (`arn:PARTITION:kms:REGION:ACCOUNT:alias/`): the
    /// prefix, then one or more characters of an alias name.
    pub(crate) fn alias_arns(prefix: &str) -> Self {
        let mut items: Vec<Item> = prefix.chars().map(Item::Char).collect();
        items.push(Item::One(Class::AliasName));
        items.push(Item::Star(Class::AliasName));
        Self { items, fold: false }
    }

    /// A pattern from its items.
    pub(crate) fn of(items: Vec<Item>) -> Self {
        Self { items, fold: false }
    }

    /// The pattern's items with every wildcard limited to `class` (an account pattern placed
    /// in an ARN's account part).
    pub(crate) fn items_in(&self, class: Class) -> Vec<Item> {
        self.items
            .iter()
            .map(|item| match item {
                Item::Star(_) => Item::Star(class),
                Item::One(_) => Item::One(class),
                Item::Char(c) => Item::Char(*c),
                Item::Path => Item::Path,
            })
            .collect()
    }

    /// The characters the pattern mentions (both cases when it folds).
    fn mentioned(&self, into: &mut Vec<char>) {
        for item in &self.items {
            if let Item::Char(c) = item {
                into.push(*c);
                if self.fold {
                    into.extend(c.to_lowercase());
                    into.extend(c.to_uppercase());
                }
            }
        }
    }

    fn same(&self, a: char, b: char) -> bool {
        a == b || (self.fold && a.to_lowercase().eq(b.to_lowercase()))
    }

    /// The positions reachable without reading (a `*` may match nothing).
    fn close(&self, mut states: u128) -> u128 {
        // Only the live positions are visited; a star's successor joins them (and is visited
        // in turn, being further on).
        let mut pending = states;
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            if matches!(self.items.get(i), Some(Item::Star(_))) {
                let next = 1u128.checked_shl(i as u32 + 1).unwrap_or(0);
                if states & next == 0 {
                    states |= next;
                    pending |= next;
                }
            }
        }
        states
    }

    fn step(&self, states: u128, c: char) -> u128 {
        let mut next = 0u128;
        // Only the live positions (usually one or two) are visited.
        let mut live = states;
        while live != 0 {
            let i = live.trailing_zeros() as usize;
            live &= live - 1;
            let Some(item) = self.items.get(i) else {
                continue;
            };
            match item {
                Item::Char(p) if self.same(*p, c) => next |= 1 << (i + 1),
                Item::One(class) if class.admits(c) => next |= 1 << (i + 1),
                Item::Star(class) if class.admits(c) => next |= 1 << i,
                // The start of a path segment: a name character begins it.
                Item::Path if Class::NameNotSlash.admits(c) => next |= 1 << (i + 1),
                _ => {}
            }
        }
        // Inside a path segment (the accepting position after a final `Path`): more name
        // characters, or `/` to start the next segment.
        let end = self.items.len();
        if matches!(self.items.last(), Some(Item::Path)) && states & (1 << end) != 0 {
            if Class::NameNotSlash.admits(c) {
                next |= 1 << end;
            } else if c == '/' {
                next |= 1 << (end - 1);
            }
        }
        self.close(next)
    }

    fn accepts(&self, states: u128) -> bool {
        states & (1 << self.items.len()) != 0
    }

    /// Whether `text` matches (for tests and checks).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        // The literal text before the first wildcard (all of it, for most patterns policies
        // write) is compared character by character; the automaton starts after it.
        let prefix = self
            .items
            .iter()
            .take_while(|i| matches!(i, Item::Char(_)))
            .count();
        let mut chars = text.chars();
        for item in self.items.iter().take(prefix) {
            match (item, chars.next()) {
                (Item::Char(p), Some(c)) if self.same(*p, c) => {}
                _ => return false,
            }
        }
        let Some(at) = 1u128.checked_shl(prefix as u32) else {
            return false;
        };
        let mut states = self.close(at);
        for c in chars {
            states = self.step(states, c);
            if states == 0 {
                return false;
            }
        }
        self.accepts(states)
    }

    /// Whether the pattern fits the automaton's width.
    fn fits(&self) -> bool {
        self.items.len() < 127
    }
}

fn like_items(pattern: &str, class: Class) -> Vec<Item> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Item::Star(class),
            '?' => Item::One(class),
            other => Item::Char(other),
        })
        .collect()
}

/// A predicate on one string: true when the string matches any of its patterns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Predicate {
    pub(crate) any_of: Vec<Glob>,
}

/// A cell: the truth of every predicate on its strings, and its shortest member (a non-empty
/// one where the empty string is not alone in the cell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) truth: Vec<bool>,
    pub(crate) member: String,
}

/// The most product states explored before the partition is refused as too large.
const MAX_STATES: usize = 200_000;

/// A glob's automaton over one alphabet: for each character of the alphabet, the positions
/// it advances past and the stars that keep it, as bitsets.
struct Automaton {
    /// By alphabet index: positions whose item reads the character and moves on.
    advance: Vec<u128>,
    /// By alphabet index: `Star` positions that read the character and stay.
    stay: Vec<u128>,
    /// Every `Star` position (a star may match nothing).
    stars: u128,
    /// For a final `Path`: whether each character continues a segment, or starts the next
    /// one (`/`), by alphabet index.
    path: Option<Vec<PathStep>>,
    /// The accepting position.
    end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PathStep {
    Continue,
    NextSegment,
    Stop,
}

impl Automaton {
    fn new(glob: &Glob, alphabet: &[char]) -> Self {
        let mut advance = vec![0u128; alphabet.len()];
        let mut stay = vec![0u128; alphabet.len()];
        let mut stars = 0u128;
        for (i, item) in glob.items.iter().enumerate() {
            if matches!(item, Item::Star(_)) {
                stars |= 1 << i;
            }
            for (k, &c) in alphabet.iter().enumerate() {
                let (moves, stays) = match item {
                    Item::Char(p) => (glob.same(*p, c), false),
                    Item::One(class) => (class.admits(c), false),
                    Item::Star(class) => (false, class.admits(c)),
                    Item::Path => (Class::NameNotSlash.admits(c), false),
                };
                if let (true, Some(slot)) = (moves, advance.get_mut(k)) {
                    *slot |= 1 << (i + 1);
                }
                if let (true, Some(slot)) = (stays, stay.get_mut(k)) {
                    *slot |= 1 << i;
                }
            }
        }
        let path = matches!(glob.items.last(), Some(Item::Path)).then(|| {
            alphabet
                .iter()
                .map(|&c| {
                    if Class::NameNotSlash.admits(c) {
                        PathStep::Continue
                    } else if c == '/' {
                        PathStep::NextSegment
                    } else {
                        PathStep::Stop
                    }
                })
                .collect()
        });
        Self {
            advance,
            stay,
            stars,
            path,
            end: glob.items.len(),
        }
    }

    fn close(&self, mut states: u128) -> u128 {
        loop {
            let more = states | ((states & self.stars) << 1);
            if more == states {
                return states;
            }
            states = more;
        }
    }

    fn start(&self) -> u128 {
        self.close(1)
    }

    /// The states after reading the alphabet's character `k`.
    fn step(&self, states: u128, k: usize) -> u128 {
        let advance = self.advance.get(k).copied().unwrap_or(0);
        let stay = self.stay.get(k).copied().unwrap_or(0);
        let mut next = ((states & (advance >> 1)) << 1) | (states & stay);
        if let Some(path) = &self.path
            && states & (1 << self.end) != 0
        {
            match path.get(k) {
                Some(PathStep::Continue) => next |= 1 << self.end,
                Some(PathStep::NextSegment) => next |= 1 << (self.end - 1),
                _ => {}
            }
        }
        self.close(next)
    }

    fn accepts(&self, states: u128) -> bool {
        states & (1 << self.end) != 0
    }
}

/// The cells `predicates` cut the strings of `shape` into (every string when `shape` is
/// `None`): every combination of truths that some string of the shape has, with a shortest
/// such string. Exact: two strings of one cell are told apart by no predicate.
pub(crate) fn cells(
    predicates: &[Predicate],
    shape: Option<&Glob>,
    what: &str,
) -> Result<Vec<Cell>, AnalysisError> {
    let globs: Vec<&Glob> = predicates
        .iter()
        .flat_map(|p| p.any_of.iter())
        .chain(shape)
        .collect();
    if let Some(long) = globs.iter().find(|g| !g.fits()) {
        return Err(AnalysisError::Unsupported(format!(
            "{what}: a pattern of {} characters is longer than the analysis reads (126)",
            long.items.len()
        )));
    }
    let alphabet = alphabet(&globs);
    if shape.is_none()
        && let Some(found) = literal_cells(predicates, &alphabet)
    {
        return Ok(found);
    }
    cells_by_product(predicates, shape, what, &globs, &alphabet)
}

/// [`cells`] when every pattern is an exact, case-sensitive, non-empty text (the usual
/// `StringEquals` key): the cells the product walk finds, in its order and with its members,
/// without walking. The walk visits the empty string first, then strings shortest first, in
/// the alphabet's order: the texts matching no pattern are found first (at the empty string,
/// their member then the first one-character string that is not a text), then each text in
/// that order, where its truths are new. `None` when the shortcut does not apply.
fn literal_cells(predicates: &[Predicate], alphabet: &[char]) -> Option<Vec<Cell>> {
    let mut texts: Vec<String> = Vec::new();
    for glob in predicates.iter().flat_map(|p| p.any_of.iter()) {
        let text = glob.literal_text().filter(|t| !t.is_empty())?;
        texts.push(text);
    }
    // Shortest first, then in the alphabet's (code point) order.
    texts.sort_unstable_by(|a, b| {
        a.chars()
            .count()
            .cmp(&b.chars().count())
            .then_with(|| a.cmp(b))
    });
    texts.dedup();
    let none = alphabet.iter().find(|c| {
        let mut one = [0u8; 4];
        let one: &str = c.encode_utf8(&mut one);
        texts
            .binary_search_by(|t| t.chars().count().cmp(&1).then_with(|| t.as_str().cmp(one)))
            .is_err()
    })?;
    let mut found = vec![Cell {
        truth: vec![false; predicates.len()],
        member: none.to_string(),
    }];
    for text in texts {
        let truth: Vec<bool> = predicates
            .iter()
            .map(|p| p.any_of.iter().any(|g| g.is_literal_of(&text)))
            .collect();
        if !found.iter().any(|c| c.truth == truth) {
            found.push(Cell {
                truth,
                member: text,
            });
        }
    }
    Some(found)
}

/// [`cells`] by walking the product of the patterns' automata.
fn cells_by_product(
    predicates: &[Predicate],
    shape: Option<&Glob>,
    what: &str,
    globs: &[&Glob],
    alphabet: &[char],
) -> Result<Vec<Cell>, AnalysisError> {
    // Exact, case-sensitive texts (the ARNs principals are named by) are one trie, a single
    // column of the product however many there are; every other pattern is an automaton.
    let mut trie = Trie::default();
    let mut columns: Vec<Column> = Vec::new();
    let mut automata: Vec<Automaton> = Vec::new();
    for (i, g) in globs.iter().enumerate() {
        let is_shape = shape.is_some() && i + 1 == globs.len();
        match g.literal_text() {
            Some(text) if !is_shape => columns.push(Column::Literal(trie.insert(&text))),
            _ => {
                columns.push(Column::Automaton(automata.len()));
                automata.push(Automaton::new(g, alphabet));
            }
        }
    }
    // A row: the trie's node, then each automaton's states (the shape's last).
    let width = automata.len() + 1;
    // The states explored, in order: each one's row (`width` words in `arena`) and how it
    // was reached (the state before and the character read), so a member's text is spelled
    // only when a cell takes it.
    let mut arena: Vec<u128> = std::iter::once(0)
        .chain(automata.iter().map(Automaton::start))
        .collect();
    let mut reached: Vec<Option<(usize, char)>> = vec![None];
    let spell = |reached: &[Option<(usize, char)>], mut at: usize| -> String {
        let mut chars = Vec::new();
        while let Some(Some((before, c))) = reached.get(at) {
            chars.push(*c);
            at = *before;
        }
        chars.iter().rev().collect()
    };
    // A state is explored once for the empty string and once for non-empty ones, so that a
    // cell the empty string reaches also gets a non-empty member when it has one.
    let mut seen: HashSet<Box<[u128]>, foldhash::fast::RandomState> = HashSet::default();
    let mut found: Vec<Cell> = Vec::new();
    let in_shape = |row: &[u128]| {
        shape.is_none()
            || row
                .last()
                .zip(automata.last())
                .is_some_and(|(&q, a)| a.accepts(q))
    };
    let mut next: Vec<u128> = Vec::with_capacity(width);
    let mut current: Vec<u128> = Vec::with_capacity(width);
    let mut at = 0;
    while at < reached.len() {
        current.clear();
        current.extend_from_slice(arena.get(at * width..(at + 1) * width).unwrap_or_default());
        if in_shape(&current) {
            let truth = truths(predicates, &columns, &automata, &current);
            match found.iter_mut().find(|c| c.truth == truth) {
                None => found.push(Cell {
                    truth,
                    member: spell(&reached, at),
                }),
                // Prefer a member a reader recognises as a value over the empty string.
                Some(cell) if cell.member.is_empty() && at != 0 => {
                    cell.member = spell(&reached, at);
                }
                Some(_) => {}
            }
        }
        let node = current.first().copied().unwrap_or(DEAD);
        for (k, &c) in alphabet.iter().enumerate() {
            // Outside the shape for good: nothing further is a value (the shape's automaton,
            // last, is stepped first, so that the others are stepped only inside it).
            if shape.is_some()
                && automata
                    .last()
                    .zip(current.last())
                    .is_some_and(|(a, &q)| a.step(q, k) == 0)
            {
                continue;
            }
            next.clear();
            next.push(trie.step(node, c));
            next.extend(
                automata
                    .iter()
                    .zip(current.get(1..).unwrap_or_default())
                    .map(|(a, &s)| a.step(s, k)),
            );
            if seen.contains(next.as_slice()) {
                continue;
            }
            if seen.len() >= MAX_STATES {
                return Err(AnalysisError::Unsupported(format!(
                    "{what}: the patterns cut the values into more than {MAX_STATES} automaton states"
                )));
            }
            seen.insert(next.as_slice().into());
            arena.extend_from_slice(&next);
            reached.push(Some((at, c)));
        }
        at += 1;
    }
    Ok(found)
}

/// Where a glob of [`cells`] is read: the trie's node that ends a literal, or an automaton.
#[derive(Debug, Clone, Copy)]
enum Column {
    Literal(u128),
    Automaton(usize),
}

/// No literal has the text read so far as a prefix.
const DEAD: u128 = u128::MAX;

/// The literal texts, as a trie: node 0 the empty prefix.
#[derive(Debug, Default)]
struct Trie {
    children: HashMap<(u128, char), u128, foldhash::fast::RandomState>,
    nodes: u128,
}

impl Trie {
    /// Adds `text`; the node that ends it.
    fn insert(&mut self, text: &str) -> u128 {
        let mut node = 0;
        for c in text.chars() {
            let fresh = self.nodes + 1;
            let child = *self.children.entry((node, c)).or_insert(fresh);
            if child == fresh {
                self.nodes = fresh;
            }
            node = child;
        }
        node
    }

    fn step(&self, node: u128, c: char) -> u128 {
        if node == DEAD {
            return DEAD;
        }
        self.children.get(&(node, c)).copied().unwrap_or(DEAD)
    }
}

/// Makes the first of `candidates` that falls in a cell (and in `shape`) that cell's member:
/// a value a reader recognises rather than the shortest one.
pub(crate) fn prefer(
    cells: &mut [Cell],
    predicates: &[Predicate],
    shape: Option<&Glob>,
    candidates: &[String],
) {
    let mut chosen = vec![false; cells.len()];
    for candidate in candidates {
        if shape.is_some_and(|s| !s.is_match(candidate)) {
            continue;
        }
        let truth: Vec<bool> = predicates
            .iter()
            .map(|p| p.any_of.iter().any(|g| g.is_match(candidate)))
            .collect();
        if let Some((cell, done)) = cells
            .iter_mut()
            .zip(chosen.iter_mut())
            .find(|(c, _)| c.truth == truth)
            && !*done
        {
            cell.member.clone_from(candidate);
            *done = true;
        }
    }
}

/// Each predicate's truth in a product state (the shape's state, if any, is last).
fn truths(
    predicates: &[Predicate],
    columns: &[Column],
    automata: &[Automaton],
    row: &[u128],
) -> Vec<bool> {
    let node = row.first().copied().unwrap_or(DEAD);
    let states = row.get(1..).unwrap_or_default();
    let mut at = 0;
    predicates
        .iter()
        .map(|p| {
            let n = p.any_of.len();
            let hit =
                columns
                    .get(at..at + n)
                    .unwrap_or_default()
                    .iter()
                    .any(|column| match *column {
                        Column::Literal(end) => node == end,
                        Column::Automaton(i) => automata
                            .get(i)
                            .zip(states.get(i))
                            .is_some_and(|(a, &s)| a.accepts(s)),
                    });
            at += n;
            hit
        })
        .collect()
}

/// The characters to try: every character a pattern mentions, and for each kind of character
/// the patterns treat alike (by which classes admit it) one that no pattern mentions.
fn alphabet(globs: &[&Glob]) -> Vec<char> {
    let mut mentioned = Vec::new();
    for g in globs {
        g.mentioned(&mut mentioned);
    }
    mentioned.sort_unstable();
    mentioned.dedup();
    let mut chars = mentioned.clone();
    // Representatives of the characters no pattern names, one per combination of classes.
    for candidates in [
        &['7', '3', '5', '0', '1', '2', '4', '6', '8', '9'][..],
        &['x', 'q', 'z', 'j', 'k', 'v', 'w', 'y', 'X', 'Q', 'Z'][..],
        &['/'][..],
        // An IAM name's character that no alias name has.
        &['+', '=', ',', '.', '@'][..],
        &[':'][..],
        &['#', '!', '~', '%', '&'][..],
    ] {
        if let Some(c) = candidates.iter().find(|c| !mentioned.contains(c)) {
            chars.push(*c);
        }
    }
    chars.sort_unstable();
    chars.dedup();
    chars
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use keyward_policy::arn::ArnPattern;
    use keyward_policy::wildcard::{Case, Wildcard};
    use proptest::prelude::*;

    fn pred(globs: Vec<Glob>) -> Predicate {
        Predicate { any_of: globs }
    }

    proptest! {
        /// A `StringLike` pattern accepts exactly what the policy engine's wildcard matches.
        #[test]
        fn like_agrees_with_the_policy_engine(
            pattern in "[ab*?:/]{0,6}",
            text in "[abcAB:/]{0,8}",
        ) {
            let ours = Glob::like(&pattern, false).is_match(&text);
            let theirs = Wildcard::new(&pattern, Case::Sensitive).unwrap().is_match(&text);
            prop_assert_eq!(ours, theirs);
            let ours = Glob::like(&pattern, true).is_match(&text);
            let theirs = Wildcard::new(&pattern, Case::Insensitive).unwrap().is_match(&text);
            prop_assert_eq!(ours, theirs, "ignoring case");
        }

        /// An `ArnLike` pattern accepts exactly what the policy engine's ARN pattern matches.
        #[test]
        fn arn_agrees_with_the_policy_engine(
            parts in proptest::collection::vec("[ab*?]{0,3}", 5),
            value in proptest::collection::vec("[ab:]{0,3}", 5),
        ) {
            let pattern = format!("arn:{}", parts.join(":"));
            let text = format!("arn:{}", value.join(":"));
            let ours = Glob::arn(&pattern).unwrap().is_match(&text);
            let theirs = ArnPattern::new(&pattern).unwrap().matches_text(&text);
            prop_assert_eq!(ours, theirs);
        }

        /// Every string falls in the cell of its truths, and every cell's member has them.
        #[test]
        fn cells_partition_every_string(
            patterns in proptest::collection::vec("[ab*?]{0,4}", 1..4),
            text in "[abc]{0,6}",
        ) {
            let predicates: Vec<Predicate> =
                patterns.iter().map(|p| pred(vec![Glob::like(p, false)])).collect();
            let found = cells(&predicates, None, "test").unwrap();
            for cell in &found {
                let truth: Vec<bool> = predicates
                    .iter()
                    .map(|p| p.any_of.iter().any(|g| g.is_match(&cell.member)))
                    .collect();
                prop_assert_eq!(&truth, &cell.truth);
            }
            let truth: Vec<bool> = predicates
                .iter()
                .map(|p| p.any_of.iter().any(|g| g.is_match(&text)))
                .collect();
            prop_assert!(found.iter().any(|c| c.truth == truth), "{text:?} has no cell");
        }
    }

    proptest! {
        /// The shortcut for exact texts finds the product walk's cells, in its order, with
        /// its members.
        #[test]
        fn literal_cells_are_the_product_walks_cells(
            texts in proptest::collection::vec(
                proptest::collection::vec("[ab:7x]{1,3}", 1..3), 1..4),
        ) {
            let predicates: Vec<Predicate> = texts
                .iter()
                .map(|any| pred(any.iter().map(|t| Glob::literal(t, false)).collect()))
                .collect();
            let globs: Vec<&Glob> = predicates.iter().flat_map(|p| p.any_of.iter()).collect();
            let alphabet = alphabet(&globs);
            let fast = literal_cells(&predicates, &alphabet).unwrap();
            let walked = cells_by_product(&predicates, None, "test", &globs, &alphabet).unwrap();
            prop_assert_eq!(fast, walked);
        }
    }

    #[test]
    fn literal_cells_leave_what_they_do_not_cover_to_the_walk() {
        let empty = [pred(vec![Glob::literal("", false)])];
        let folded = [pred(vec![Glob::literal("a", true)])];
        let like = [pred(vec![Glob::like("a*", false)])];
        for predicates in [&empty[..], &folded[..], &like[..]] {
            let globs: Vec<&Glob> = predicates.iter().flat_map(|p| p.any_of.iter()).collect();
            assert!(literal_cells(predicates, &alphabet(&globs)).is_none());
        }
    }

    #[test]
    fn equality_with_and_without_case_gives_three_cells() {
        let predicates = [
            pred(vec![Glob::literal("Admin", false)]),
            pred(vec![Glob::literal("admin", true)]),
        ];
        let found = cells(&predicates, None, "test").unwrap();
        let truths: Vec<&[bool]> = found.iter().map(|c| c.truth.as_slice()).collect();
        assert!(truths.contains(&[true, true].as_slice()));
        assert!(
            truths.contains(&[false, true].as_slice()),
            "ADMIN, aDmin, ..."
        );
        assert!(truths.contains(&[false, false].as_slice()));
        assert!(!truths.contains(&[true, false].as_slice()));
    }

    #[test]
    fn a_path_is_segments_of_name_characters() {
        let mut items: Vec<Item> = "user/".chars().map(Item::Char).collect();
        items.push(Item::Path);
        let shape = Glob::of(items);
        for good in ["user/a", "user/path/a", "user/a.b@c/d-e"] {
            assert!(shape.is_match(good), "{good}");
        }
        for bad in ["user/", "user//a", "user/a/", "user/a:b", "user//"] {
            assert!(!shape.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn a_shape_keeps_only_its_strings() {
        let twelve: Vec<Item> = (0..12).map(|_| Item::One(Class::Digit)).collect();
        let account = Glob::of(twelve);
        let predicates = [pred(vec![Glob::literal("111122223333", false)])];
        let found = cells(&predicates, Some(&account), "accounts").unwrap();
        assert_eq!(found.len(), 2);
        for cell in &found {
            assert_eq!(cell.member.len(), 12);
            assert!(cell.member.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
