//! A Set-Cookie header taken apart and put back together, so that a seeded
//! fault can change one attribute and leave the rest as the backend wrote
//! it.

/// A Set-Cookie header: name, value and attributes in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie name.
    pub name: String,
    /// The cookie value.
    pub value: String,
    /// The attributes, name (as written) and value.
    pub attrs: Vec<(String, Option<String>)>,
}

impl SetCookie {
    /// Parses a header; `None` when it has no `name=value` pair.
    pub fn parse(header: &str) -> Option<SetCookie> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let attrs = parts
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                None => (p.to_owned(), None),
            })
            .collect();
        Some(SetCookie {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attrs,
        })
    }

    /// The header again.
    pub fn render(&self) -> String {
        let mut out = format!("{}={}", self.name, self.value);
        for (k, v) in &self.attrs {
            out.push_str("; ");
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }

    /// An attribute's value (names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether a flag or attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Sets an attribute, replacing it where it is or appending it.
    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self
            .attrs
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name.to_owned(), value)),
        }
    }

    /// Removes an attribute.
    pub fn remove(&mut self, name: &str) {
        self.attrs.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Whether this is a deletion at `now`, as a browser reads it: a
    /// `Max-Age` of 0 or less, or no `Max-Age` and an `Expires` not after
    /// `now` (RFC 6265bis §5.7 step 6; `Expires` read with
    /// [`crate::run::cookie_date`]).
    pub fn is_deletion(&self, now: time::OffsetDateTime) -> bool {
        match self.get("Max-Age").and_then(|v| v.parse::<i64>().ok()) {
            Some(n) => n <= 0,
            None => crate::run::cookie_date::expires_attribute(&self.render())
                .is_some_and(|d| d.instant <= now),
        }
    }

    /// `Max-Age` as a number.
    pub fn max_age(&self) -> Option<i64> {
        self.get("Max-Age").and_then(|v| v.parse().ok())
    }
}

/// The `name=value` pairs of a Cookie request header.
pub fn cookie_pairs(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A Cookie header from pairs; `None` when there are none.
pub fn cookie_header(pairs: &[(String, String)]) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    Some(
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_edits() {
        let h = "A=1; Max-Age=60; Path=/; HttpOnly";
        let mut c = SetCookie::parse(h).unwrap();
        assert_eq!(c.render(), h);
        assert_eq!(c.max_age(), Some(60));
        assert!(c.has("httponly"));
        c.set("max-age", Some("61".into()));
        c.remove("HttpOnly");
        c.set("Secure", None);
        assert_eq!(c.render(), "A=1; Max-Age=61; Path=/; Secure");
        let now = time::macros::datetime!(2009-03-01 12:00 UTC);
        assert!(SetCookie::parse("A=; Max-Age=0").unwrap().is_deletion(now));
        let past = SetCookie::parse("A=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        assert!(past.is_deletion(now));
        assert!(!SetCookie::parse("A=1; Max-Age=60")
            .unwrap()
            .is_deletion(now));
        assert!(SetCookie::parse("garbage").is_none());
    }

    #[test]
    fn cookie_headers_split_and_join() {
        let pairs = cookie_pairs("a=1; b=2");
        assert_eq!(pairs.len(), 2);
        assert_eq!(cookie_header(&pairs).unwrap(), "a=1; b=2");
        assert_eq!(cookie_header(&[]), None);
    }
}
