//! Maven versions, ordered as Maven's `ComparableVersion`: items split at `.`, `-` and
//! digit/letter changes, known qualifiers ranked, trailing zero-like items ignored.

use std::cmp::Ordering;

/// Ranked qualifiers; anything else sorts after `sp`, alphabetically.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number, as its digits without leading zeros (any length).
    Number(String),
    /// A qualifier, already mapped to its comparable form.
    Word(String),
    /// A `-` separated sub-list.
    List(Vec<Item>),
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => n.is_empty(),
            Item::Word(w) => w == &comparable_qualifier(""),
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares with a missing item (the other version ended).
    fn cmp_missing(&self) -> Ordering {
        match self {
            Item::Number(n) => {
                if n.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Word(w) => w.as_str().cmp(comparable_qualifier("").as_str()),
            Item::List(items) => items.first().map_or(Ordering::Equal, Item::cmp_missing),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        use Item::*;
        match (self, other) {
            (Number(a), Number(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Number(_), _) => Ordering::Greater,
            (Word(_), Number(_)) => Ordering::Less,
            (Word(a), Word(b)) => a.cmp(b),
            (Word(_), List(_)) => Ordering::Less,
            (List(_), Number(_)) => Ordering::Less,
            (List(_), Word(_)) => Ordering::Greater,
            (List(a), List(b)) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(l), Some(r)) => l.cmp_item(r),
            (Some(l), None) => l.cmp_missing(),
            (None, Some(r)) => r.cmp_missing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

fn comparable_qualifier(word: &str) -> String {
    match QUALIFIERS.iter().position(|q| *q == word) {
        Some(rank) => rank.to_string(),
        None => format!("{}-{word}", QUALIFIERS.len()),
    }
}

fn word_item(word: &str, followed_by_digit: bool) -> Item {
    let word = match word {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Word(comparable_qualifier(word))
}

fn number_item(digits: &str) -> Item {
    Item::Number(digits.trim_start_matches('0').to_string())
}

/// Removes trailing null items of a list (stopping at the first non-null non-list item).
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        if items[i].is_null() {
            items.remove(i);
        } else if !matches!(items[i], Item::List(_)) {
            break;
        }
    }
}

/// Parses a Maven version into its nested item list.
fn parse(version: &str) -> Vec<Item> {
    let version = version.trim().to_ascii_lowercase();
    let chars: Vec<char> = version.chars().collect();
    // A stack of open lists; each `-` (and each digit/letter change) opens a nested list.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let item = |digit: bool, s: &str| if digit { number_item(s) } else { word_item(s, false) };
    for (i, &c) in chars.iter().enumerate() {
        let top = stack.len() - 1;
        if c == '.' || c == '-' {
            if i == start {
                stack[top].push(Item::Number(String::new()));
            } else {
                stack[top].push(item(is_digit, &text(start, i)));
            }
            start = i + 1;
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                stack[top].push(word_item(&text(start, i), true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                stack[top].push(number_item(&text(start, i)));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if chars.len() > start {
        let top = stack.len() - 1;
        stack[top].push(item(is_digit, &text(start, chars.len())));
    }
    while stack.len() > 1 {
        let mut list = stack.pop().unwrap_or_default();
        normalize(&mut list);
        let top = stack.len() - 1;
        stack[top].push(Item::List(list));
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    compare_lists(&parse(a), &parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_qualifiers() {
        let sorted =
            ["1-alpha", "1-beta", "1-milestone", "1-rc", "1-snapshot", "1", "1-sp", "1-abc", "1.0.1"];
        for pair in sorted.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn treats_zero_and_release_as_equal() {
        assert_eq!(compare("1.0", "1"), Ordering::Equal);
        assert_eq!(compare("1.0.0-ga", "1"), Ordering::Equal);
        assert_eq!(compare("1.0-final", "1.0"), Ordering::Equal);
        assert_eq!(compare("1a1", "1-alpha-1"), Ordering::Equal);
        assert_eq!(compare("2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare("1.0-SNAPSHOT", "1.0"), Ordering::Less);
    }
}
