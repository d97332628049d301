//! Small parsers and names of the fixture format: semantic ids, virtual
//! clock advances, symbols in text, and did-you-mean suggestions.

use time::Duration;

/// Whether `id` has the form of a semantic id: lowercase dot-separated
/// words of letters, digits and dashes, at least two of them.
///
/// ```
/// use moin_session_spec::fixture::is_semantic_id;
/// assert!(is_semantic_id("m19.lifetime.remember-me-forever"));
/// assert!(!is_semantic_id("case_1"));
/// ```
pub fn is_semantic_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('-')
                && !p.ends_with('-')
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The longest advance one step may make: 3,650,000 days. (Where the
/// clock may go in all is the loader's rule `fixture.clock`.)
pub const MAX_ADVANCE: Duration = Duration::days(3_650_000);

/// Parses an advance like `59s`, `+1h`, `1h30m`, `2d`, `250ms`. Parts add
/// up; a number or a sum too large for [`MAX_ADVANCE`] is an error, never
/// an overflow.
///
/// ```
/// use moin_session_spec::fixture::parse_advance;
/// assert_eq!(parse_advance("+1h30m").unwrap(), time::Duration::minutes(90));
/// assert!(parse_advance("-1h").is_err());
/// assert!(parse_advance("99999999999999999999d").is_err());
/// assert!(parse_advance("9000000000000000h9000000000000000h").is_err());
/// ```
pub fn parse_advance(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("advance {text:?} is not a positive duration such as 59s, 1h30m, 2d or 250ms [rule fixture.advance]")
    };
    let too_long = || {
        format!("advance {text:?} is longer than the longest advance, 3650000d (about 10,000 years) [rule fixture.advance]")
    };
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per_unit: i64 = match unit {
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1000,
            "ms" => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(millis_per_unit)
            .and_then(|ms| total.checked_add(Duration::milliseconds(ms)))
            .filter(|t| *t <= MAX_ADVANCE)
            .ok_or_else(too_long)?;
    }
    if total <= Duration::ZERO {
        return Err(bad());
    }
    Ok(total)
}

/// Writes a duration the way [`parse_advance`] reads it.
pub fn format_duration(d: Duration) -> String {
    let mut out = String::new();
    let mut ms = d.whole_milliseconds();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a likely typo.
///
/// ```
/// use moin_session_spec::fixture::nearest;
/// let ids = ["m19.lifetime.seconds", "m19.lifetime.truncation"];
/// assert_eq!(nearest("m19.lifetime.second", ids), Some("m19.lifetime.seconds"));
/// assert_eq!(nearest("m19.store.list", ids), None);
/// ```
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    let limit = (word.chars().count() / 5).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// How a `Cookie` header value is derived from a bound sid symbol, for
/// cases about values that are nearly an issued sid
/// (`hard.load.malformed-before-store`): `${s1}` is the sid itself,
/// `${s1|upper}` the sid with its letters in upper case, `${s1|first:N}`
/// its first `N` characters. Text may follow a reference (`${s1}0` is the
/// sid with one more byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivation {
    /// The sid itself.
    Same,
    /// The sid with every ASCII letter in upper case.
    Upper,
    /// The first `N` characters of the sid (`N` at least 1).
    First(usize),
}

impl Derivation {
    /// The value derived from `sid`.
    ///
    /// ```
    /// use moin_session_spec::corpus::Derivation;
    /// assert_eq!(Derivation::Upper.apply("0a1b"), "0A1B");
    /// assert_eq!(Derivation::First(3).apply("0a1b"), "0a1");
    /// assert_eq!(Derivation::First(9).apply("0a1b"), "0a1b");
    /// ```
    pub fn apply(self, sid: &str) -> String {
        match self {
            Derivation::Same => sid.to_owned(),
            Derivation::Upper => sid.to_ascii_uppercase(),
            Derivation::First(n) => sid.chars().take(n).collect(),
        }
    }
}

/// One `${…}` reference in a text: where it is, the symbol it derives
/// from, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The byte range of the whole reference, `${` to `}`.
    pub range: std::ops::Range<usize>,
    /// The symbol, as `$s1`.
    pub symbol: String,
    /// The derivation.
    pub derivation: Derivation,
}

/// The `${…}` references of a text, in order; an error names the first
/// malformed one (rule `fixture.derived-value`).
///
/// ```
/// use moin_session_spec::corpus::{derived_in, Derivation};
/// let refs = derived_in("S=${s1|first:39}; T=${s2}x").unwrap();
/// assert_eq!(refs[0].symbol, "$s1");
/// assert_eq!(refs[0].derivation, Derivation::First(39));
/// assert_eq!(refs[1].derivation, Derivation::Same);
/// assert!(derived_in("S=${s1|lower}").is_err());
/// ```
pub fn derived_in(text: &str) -> Result<Vec<Derived>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("${") {
        let start = from + at;
        let Some(len) = text[start..].find('}') else {
            return Err(format!("{:?} has a `${{` without its `}}`", &text[start..]));
        };
        let inner = &text[start + 2..start + len];
        let (symbol, how) = inner.split_once('|').unwrap_or((inner, ""));
        let symbol = format!("${symbol}");
        if !super::expect::is_symbol(&symbol) || !symbol.starts_with("$s") {
            return Err(format!(
                "`${{{inner}}}` must name a sid symbol such as `${{s1}}`"
            ));
        }
        let derivation = match how {
            "" => Derivation::Same,
            "upper" => Derivation::Upper,
            _ => match how.strip_prefix("first:").map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 1 => Derivation::First(n),
                _ => {
                    return Err(format!(
                        "`${{{inner}}}`: the derivation is `upper` or `first:N` (N at least 1), not {how:?}"
                    ))
                }
            },
        };
        out.push(Derived {
            range: start..start + len + 1,
            symbol,
            derivation,
        });
        from = start + len + 1;
    }
    Ok(out)
}

/// The `$sN` and `$lN` symbols in a text, in order of appearance, those
/// of `${…}` references included.
pub fn symbols_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 2 < bytes.len() + 1 {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            if let Some(d) = derived_in(&text[i..])
                .ok()
                .and_then(|d| d.into_iter().next())
            {
                out.push(d.symbol);
                i += d.range.end;
                continue;
            }
        }
        if bytes[i] == b'$' && matches!(bytes.get(i + 1), Some(b's' | b'l')) {
            let digits = bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                out.push(text[i..i + 2 + digits].to_owned());
                i += 2 + digits;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_forms() {
        assert_eq!(parse_advance("59s").unwrap(), Duration::seconds(59));
        assert_eq!(parse_advance("2d").unwrap(), Duration::days(2));
        assert_eq!(
            parse_advance("1m250ms").unwrap(),
            Duration::milliseconds(60_250)
        );
        for bad in ["", "+", "1", "h", "1y", "0s", "1h-2m"] {
            assert!(parse_advance(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format_duration(Duration::milliseconds(90_061_001)),
            "1d1h1m1s1ms"
        );
    }

    #[test]
    fn symbols_are_found_in_headers() {
        assert_eq!(symbols_in("A=$s1; B=$s12x"), vec!["$s1", "$s12"]);
        assert_eq!(
            symbols_in("A=${s3|upper}; B=${s4}0; C=$s5"),
            vec!["$s3", "$s4", "$s5"]
        );
        assert!(symbols_in("A=$x; $s").is_empty());
    }
}
