//! The requirement registry: every `r[...]` clause of the normative text.
//!
//! The spec files are compiled in, so the registry always matches the text
//! of the version in use. A clause is a line holding only `r[<id>]`; its
//! text is the paragraph that follows.

use std::collections::BTreeMap;
use std::fmt;

use super::ids::is_semantic_id;
use crate::profile::Profile;

/// The normative text of each profile, as compiled in.
pub const SPEC_FILES: &[(Profile, &str, &str)] = &[
    (
        Profile::Moin16,
        "spec/moin-1.6.md",
        include_str!("../../spec/moin-1.6.md"),
    ),
    (
        Profile::Moin19,
        "spec/moin-1.9.md",
        include_str!("../../spec/moin-1.9.md"),
    ),
    (
        Profile::Hardened,
        "spec/hardened.md",
        include_str!("../../spec/hardened.md"),
    ),
];

/// One normative clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The stable ID, e.g. `m19.lifetime.remember-me-forever`.
    pub id: String,
    /// The profile it belongs to.
    pub profile: Profile,
    /// The spec file.
    pub file: &'static str,
    /// 1-based line of the `r[...]` marker.
    pub line: usize,
    /// The heading the clause stands under.
    pub section: String,
    /// The clause's first paragraph.
    pub text: String,
}

impl Requirement {
    /// The clause's first sentence, for one-line summaries.
    pub fn summary(&self) -> &str {
        let t = self.text.as_str();
        match t.find(". ") {
            Some(i) => &t[..=i],
            None => t,
        }
    }
}

/// All requirements of all profiles, by ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    by_id: BTreeMap<String, Requirement>,
}

/// A spec text that breaks the ID rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file.
    pub file: String,
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for SpecError {}

impl Requirements {
    /// The registry of the compiled-in spec files.
    ///
    /// ```
    /// let reqs = moin_session_spec::requirements::Requirements::builtin();
    /// assert!(reqs.get("m19.lifetime.remember-me-forever").is_some());
    /// ```
    pub fn builtin() -> Requirements {
        let mut all = Requirements::default();
        for (profile, file, text) in SPEC_FILES {
            let part = Requirements::parse(*profile, file, text)
                .expect("the compiled-in spec is checked by the test suite");
            all.by_id.extend(part.by_id);
        }
        all
    }

    /// The version of the compiled-in spec of `profile`, as its opening
    /// `Version: X.Y.Z, DATE` line states it (section 20 of each spec).
    ///
    /// ```
    /// use moin_session_spec::{requirements::Requirements, Profile};
    /// let v = Requirements::spec_version(Profile::Moin19).expect("the spec states its version");
    /// assert_eq!(v.split('.').count(), 3);
    /// ```
    pub fn spec_version(profile: Profile) -> Option<&'static str> {
        let (_, _, text) = SPEC_FILES.iter().find(|(p, _, _)| *p == profile)?;
        text.lines()
            .take(20)
            .find_map(|l| l.strip_prefix("Version: "))
            .and_then(|rest| rest.split([',', ' ']).next())
            .filter(|v| !v.is_empty())
    }

    /// Parses one spec file's clauses.
    pub fn parse(
        profile: Profile,
        file: &'static str,
        text: &str,
    ) -> Result<Requirements, Vec<SpecError>> {
        let mut by_id: BTreeMap<String, Requirement> = BTreeMap::new();
        let mut errors = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        let mut section = String::new();
        let mut in_code = false;
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.trim();
            if line.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if in_code {
                continue;
            }
            if let Some(h) = line.strip_prefix('#') {
                section = h.trim_start_matches('#').trim().to_owned();
                continue;
            }
            let Some(id) = line.strip_prefix("r[").and_then(|l| l.strip_suffix(']')) else {
                continue;
            };
            let err = |message: String| SpecError {
                file: file.to_owned(),
                line: i + 1,
                message,
            };
            if !is_semantic_id(id) || !id.starts_with(profile.id_prefix()) {
                errors.push(err(format!(
                    "requirement ID {id:?} must be lowercase dot-separated words starting with {:?}",
                    profile.id_prefix()
                )));
                continue;
            }
            if let Some(first) = by_id.get(id) {
                errors.push(err(format!(
                    "requirement ID {id:?} is used again (first at line {})",
                    first.line
                )));
                continue;
            }
            let mut text_lines = Vec::new();
            for next in &lines[i + 1..] {
                let next = next.trim();
                if next.is_empty() {
                    if text_lines.is_empty() {
                        continue;
                    }
                    break;
                }
                if next.starts_with("r[") {
                    break;
                }
                text_lines.push(next);
            }
            if text_lines.is_empty() {
                errors.push(err(format!("requirement {id:?} has no clause text")));
                continue;
            }
            by_id.insert(
                id.to_owned(),
                Requirement {
                    id: id.to_owned(),
                    profile,
                    file,
                    line: i + 1,
                    section: section.clone(),
                    text: text_lines.join(" "),
                },
            );
        }
        if errors.is_empty() {
            Ok(Requirements { by_id })
        } else {
            Err(errors)
        }
    }

    /// The requirement with this ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id)
    }

    /// Every requirement, ordered by ID.
    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.by_id.values()
    }

    /// The requirements of one profile, in the order of the spec text.
    pub fn of_profile(&self, profile: Profile) -> Vec<&Requirement> {
        let mut v: Vec<&Requirement> = self
            .by_id
            .values()
            .filter(|r| r.profile == profile)
            .collect();
        v.sort_by_key(|r| r.line);
        v
    }

    /// How many requirements there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_spec_states_a_three_part_version() {
        for (profile, file, _) in SPEC_FILES {
            let v = Requirements::spec_version(*profile)
                .unwrap_or_else(|| panic!("{file} has no `Version: X.Y.Z, DATE` line"));
            let parts: Vec<&str> = v.split('.').collect();
            assert!(
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "{file}: version {v:?} is not MAJOR.MINOR.PATCH"
            );
        }
    }

    #[test]
    fn parses_clauses_and_rejects_bad_ids() {
        let text = "# Area\n\nr[m19.a.one]\nFirst sentence. Second.\n\nr[m19.a.two]\n\nText two.\n\n```\nr[m19.in.code]\n```\n";
        let r = Requirements::parse(Profile::Moin19, "x.md", text).unwrap();
        assert_eq!(r.len(), 2);
        let one = r.get("m19.a.one").unwrap();
        assert_eq!(one.section, "Area");
        assert_eq!(one.line, 3);
        assert_eq!(one.summary(), "First sentence.");
        assert_eq!(r.get("m19.a.two").unwrap().text, "Text two.");
        let bad = Requirements::parse(
            Profile::Moin19,
            "x.md",
            "r[m19.a.one]\nx\n\nr[m19.a.one]\ny\n\nr[M19.B]\nz\n",
        )
        .unwrap_err();
        assert_eq!(bad.len(), 2);
        assert!(bad[0].message.contains("used again"));
    }

    /// Every block quote of a spec is a marked block (section 2.1: it ends
    /// a clause and is not normative), and none uses a BCP 14 key word.
    #[test]
    fn block_quotes_are_marked_and_use_no_key_words() {
        const MARKERS: [&str; 4] = [
            "> **Note.**",
            "> **Example.**",
            "> **Departure.**",
            "> **Quirk kept.**",
        ];
        const KEY_WORDS: [&str; 5] = ["MUST", "SHALL", "SHOULD", "MAY", "REQUIRED"];
        for (_, file, text) in SPEC_FILES {
            let mut previous = "";
            for (i, line) in text.lines().enumerate() {
                if line.starts_with('>') && !previous.starts_with('>') {
                    assert!(
                        MARKERS.iter().any(|m| line.starts_with(m)),
                        "{file}:{}: a block quote must start with a marker",
                        i + 1
                    );
                }
                if line.starts_with('>') {
                    for word in KEY_WORDS {
                        assert!(
                            !line
                                .split(|c: char| !c.is_ascii_alphabetic())
                                .any(|w| w == word),
                            "{file}:{}: {word} in a non-normative block",
                            i + 1
                        );
                    }
                }
                previous = line;
            }
        }
    }

    /// Appendix A of each spec lists every clause once, in the order of
    /// the text, and nothing else.
    #[test]
    fn appendix_a_lists_every_clause_in_order() {
        for (profile, file, text) in SPEC_FILES {
            let appendix = text
                .split("\n## Appendix A.")
                .nth(1)
                .expect("every spec has an Appendix A");
            let appendix = appendix.split("\n## ").next().unwrap_or(appendix);
            let listed: Vec<&str> = appendix
                .lines()
                .filter_map(|l| l.strip_prefix("| `"))
                .filter_map(|l| l.split('`').next())
                .collect();
            let reqs = Requirements::parse(*profile, file, text).expect("the spec parses");
            let clauses: Vec<&str> = reqs
                .of_profile(*profile)
                .iter()
                .map(|r| r.id.as_str())
                .collect();
            assert_eq!(
                listed, clauses,
                "{file}: Appendix A differs from the clauses"
            );
        }
    }

    #[test]
    fn the_builtin_spec_parses() {
        for (profile, file, text) in SPEC_FILES {
            if let Err(errors) = Requirements::parse(*profile, file, text) {
                panic!(
                    "{}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
    }
}
