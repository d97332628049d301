//! What the `hardened` profile inherits from `moin-1.9`.
//!
//! `spec/hardened.md` is a delta: every moin-1.9 clause applies unless a
//! hardened clause replaces it, wholly or in part. The replacements are
//! written twice, on purpose: in the table of section 3 ("What this profile
//! replaces") and in a paragraph of each replacing clause that starts "This
//! clause replaces". [`Inheritance`] reads both from the compiled-in text,
//! and the tests below check that they agree. The fixture loader uses it to
//! let a hardened case cover an inherited moin-1.9 clause
//! (`fixture.unknown-requirement`), and the traceability matrix lists the
//! inherited clauses with the hardened cases that cover them.
//!
//! ```
//! use moin_session_spec::corpus::Inheritance;
//! let inheritance = Inheritance::builtin();
//! // Replaced wholly: a hardened case cannot cover it.
//! assert!(!inheritance.inherits("m19.load.unknown-sid-adopted"));
//! // Replaced in part: the rest still applies.
//! assert!(inheritance.inherits("m19.auth.login"));
//! // Not replaced at all.
//! assert!(inheritance.inherits("m19.cookie.path"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::requirements::SPEC_FILES;
use crate::profile::Profile;

/// The heading of the replacement table in `spec/hardened.md`.
const TABLE_HEADING: &str = "## 3. What this profile replaces";
/// How a paragraph that names replaced clauses starts.
const SENTENCE: &str = "This clause replaces";

/// One replaced moin-1.9 clause, as the table of section 3 states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The moin-1.9 clause.
    pub id: String,
    /// `Some(part)` when only that part is replaced ("in part: …"); the
    /// rest of the clause still applies to hardened.
    pub partial: Option<String>,
    /// The hardened clauses that replace it.
    pub by: Vec<String>,
}

/// The replacements of `spec/hardened.md`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inheritance {
    rows: BTreeMap<String, Replacement>,
    /// Per replaced moin-1.9 clause, the hardened clauses whose "This
    /// clause replaces" paragraph names it.
    sentences: BTreeMap<String, BTreeSet<String>>,
}

fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

impl Inheritance {
    /// The replacements of the compiled-in `spec/hardened.md`.
    pub fn builtin() -> &'static Inheritance {
        static BUILTIN: OnceLock<Inheritance> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let (_, _, text) = SPEC_FILES
                .iter()
                .find(|(p, _, _)| *p == Profile::Hardened)
                .expect("the hardened spec is compiled in");
            Inheritance::parse(text)
        })
    }

    /// Reads the table of section 3 and the "This clause replaces"
    /// paragraphs of a hardened spec text.
    pub fn parse(text: &str) -> Inheritance {
        Inheritance {
            rows: table_rows(text),
            sentences: replace_sentences(text),
        }
    }

    /// The row of a replaced moin-1.9 clause.
    pub fn replacement(&self, id: &str) -> Option<&Replacement> {
        self.rows.get(id)
    }

    /// Every replaced moin-1.9 clause, by ID.
    pub fn replacements(&self) -> impl Iterator<Item = &Replacement> {
        self.rows.values()
    }

    /// Whether the moin-1.9 clause `id` applies to hardened, wholly or in
    /// part: it is not replaced, or replaced only in part.
    pub fn inherits(&self, id: &str) -> bool {
        id.starts_with(Profile::Moin19.id_prefix())
            && self.rows.get(id).is_none_or(|r| r.partial.is_some())
    }

    /// Where the table and the paragraphs disagree: a clause one names and
    /// the other does not, or a paragraph in a clause the table does not
    /// list as a replacement of that clause. Empty for a consistent text.
    pub fn disagreements(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, row) in &self.rows {
            match self.sentences.get(id) {
                None => out.push(format!(
                    "{id} is in the table of section 3 but no clause says \"{SENTENCE} `{id}`\""
                )),
                Some(clauses) => {
                    for clause in clauses.iter().filter(|c| !row.by.contains(c)) {
                        out.push(format!(
                            "{clause} says it replaces {id}, but the table names only {:?}",
                            row.by
                        ));
                    }
                }
            }
        }
        for (id, clauses) in &self.sentences {
            if !self.rows.contains_key(id) {
                out.push(format!(
                    "{clauses:?} say they replace {id}, which the table of section 3 does not list"
                ));
            }
        }
        out
    }
}

/// The rows of the replacement table: every moin-1.9 ID of the first
/// column, with the part ("in part: …") and the hardened IDs of the second.
fn table_rows(text: &str) -> BTreeMap<String, Replacement> {
    let mut rows = BTreeMap::new();
    let Some(section) = text.split(TABLE_HEADING).nth(1) else {
        return rows;
    };
    let section = section.split("\n## ").next().unwrap_or(section);
    for line in section.lines().filter(|l| l.starts_with("| `m19.")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let (Some(first), Some(second)) = (cells.first(), cells.get(1)) else {
            continue;
        };
        let partial = first
            .split_once("(in part: ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(part, _)| part.to_owned());
        let by: Vec<String> = backticked(second)
            .filter(|id| id.starts_with(Profile::Hardened.id_prefix()))
            .map(str::to_owned)
            .collect();
        for id in backticked(first).filter(|id| id.starts_with(Profile::Moin19.id_prefix())) {
            rows.insert(
                id.to_owned(),
                Replacement {
                    id: id.to_owned(),
                    partial: partial.clone(),
                    by: by.clone(),
                },
            );
        }
    }
    rows
}

/// Per moin-1.9 ID, the hardened clauses with a paragraph starting "This
/// clause replaces" that names it. A paragraph belongs to the clause whose
/// ID line precedes it, until a heading or a marked block ends the clause.
fn replace_sentences(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut clause: Option<&str> = None;
    let mut paragraph: Option<String> = None;
    let mut in_code = false;
    for line in text.lines().map(str::trim).chain(std::iter::once("")) {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if line.is_empty() {
            if let (Some(p), Some(c)) = (paragraph.take(), clause) {
                for id in backticked(&p).filter(|id| id.starts_with(Profile::Moin19.id_prefix())) {
                    out.entry(id.to_owned()).or_default().insert(c.to_owned());
                }
            }
            continue;
        }
        if line.starts_with('#') || line.starts_with('>') {
            clause = None;
            paragraph = None;
            continue;
        }
        if let Some(id) = line.strip_prefix("r[").and_then(|l| l.strip_suffix(']')) {
            clause = Some(id);
            continue;
        }
        match &mut paragraph {
            Some(p) => {
                p.push(' ');
                p.push_str(line);
            }
            None if line.starts_with(SENTENCE) => paragraph = Some(line.to_owned()),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Requirements;

    #[test]
    fn the_table_and_the_sentences_agree() {
        let problems = Inheritance::builtin().disagreements();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_id_of_the_table_is_a_clause() {
        let reqs = Requirements::builtin();
        let inheritance = Inheritance::builtin();
        assert!(inheritance.replacements().count() > 20);
        for row in inheritance.replacements() {
            let old = reqs.get(&row.id);
            assert!(
                old.is_some_and(|r| r.profile == Profile::Moin19),
                "{} is not a moin-1.9 clause",
                row.id
            );
            assert!(!row.by.is_empty(), "{} is replaced by nothing", row.id);
            for by in &row.by {
                assert!(
                    reqs.get(by).is_some_and(|r| r.profile == Profile::Hardened),
                    "{by} (replacing {}) is not a hardened clause",
                    row.id
                );
            }
        }
    }

    #[test]
    fn parses_rows_parts_and_sentences() {
        let text = "## 3. What this profile replaces\n\n| moin | by | line |\n| --- | --- | --- |\n\
                    | `m19.a.x`, `m19.a.y` | `hard.b.z` | one |\n\
                    | `m19.c.d` (in part: its sid) | `hard.e.f`, `hard.g.h` | two |\n\n\
                    ## 4. Terms\n\nr[hard.b.z]\nText.\n\nThis clause replaces `m19.a.x` and\n`m19.a.y`.\n\n\
                    > **Note.** This clause replaces `m19.q.q` (not a clause paragraph).\n";
        let inheritance = Inheritance::parse(text);
        assert!(!inheritance.inherits("m19.a.x"));
        assert!(inheritance.inherits("m19.c.d"));
        assert!(inheritance.inherits("m19.other.one"));
        assert!(!inheritance.inherits("hard.b.z"));
        let row = inheritance.replacement("m19.c.d").unwrap();
        assert_eq!(row.partial.as_deref(), Some("its sid"));
        assert_eq!(row.by, ["hard.e.f", "hard.g.h"]);
        let problems = inheritance.disagreements();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("m19.c.d"), "{problems:?}");
    }
}
