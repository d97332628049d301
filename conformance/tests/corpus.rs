//! The corpus against the model: every case passes, every transcript is a
//! reviewed snapshot, and a changed expectation is caught and named.

use moin_session_conformance::run::runner::{run_case, Verdict};
use moin_session_conformance::{
    default_fixtures_dir, load, report, report::transcript, run_all, Selection,
};
use moin_session_spec::fixture::{Action, Corpus, LoadedCase};
use moin_session_spec::Model;
use moin_session_testkit::corpus::every_case_passed;

fn corpus() -> &'static Corpus {
    &moin_session_testkit::corpus::corpus().0
}

#[test]
fn every_case_passes_against_the_model() {
    let corpus = corpus();
    let cases = Selection::default().apply(corpus);
    let results = run_all(&mut Model::new(), &cases, |_, _| {});
    every_case_passed(&results, "the model");
}

#[test]
fn transcripts_are_snapshots() {
    let corpus = corpus();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../fixtures/transcripts");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for loaded in &corpus.cases {
            let result = run_case(&mut Model::new(), loaded);
            insta::assert_snapshot!(
                loaded.case.id.clone(),
                transcript::render(&result, &loaded.case.title)
            );
        }
    });
}

/// Finds a case with an issued cookie expectation and returns it with the
/// first issued cookie's Max-Age raised by one second.
fn mutated() -> (LoadedCase, usize) {
    let corpus = corpus();
    for loaded in &corpus.cases {
        for (i, step) in loaded.case.steps.iter().enumerate() {
            if let Action::Request(_, expect) = &step.action {
                if let Some(c) = expect.set_cookies.iter().position(|c| c.max_age.is_some()) {
                    let mut changed = loaded.clone();
                    if let Action::Request(_, e) = &mut changed.case.steps[i].action {
                        *e.set_cookies[c].max_age.as_mut().unwrap() += 1;
                    }
                    return (changed, i + 1);
                }
            }
        }
    }
    panic!("no case issues a cookie");
}

#[test]
fn a_changed_expectation_fails_naming_case_step_and_requirement() {
    let (case, step) = mutated();
    let result = run_case(&mut Model::new(), &case);
    match &result.verdict {
        Verdict::Fail {
            step: s,
            differences,
            ..
        } => {
            assert_eq!(*s, step);
            assert_eq!(differences.len(), 1, "{differences:?}");
            assert!(
                differences[0].contains(".max_age: expected"),
                "{}",
                differences[0]
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let text = report::failure(&result);
    assert!(text.contains(&case.case.id));
    assert!(text.contains(&format!("step {step}")));
    let blamed = if case.case.steps[step - 1].covers.is_empty() {
        &case.case.covers
    } else {
        &case.case.steps[step - 1].covers
    };
    for r in blamed {
        assert!(text.contains(r.as_str()), "{text}");
    }
}

#[test]
fn a_rejects_case_fails_when_the_configuration_is_accepted() {
    let corpus = corpus();
    let mut case = corpus
        .cases
        .iter()
        .find(|c| c.case.rejects.is_some())
        .expect("the corpus has a rejects case")
        .clone();
    case.case.config = Default::default();
    let result = run_case(&mut Model::new(), &case);
    assert!(
        matches!(result.verdict, Verdict::Fail { step: 0, .. }),
        "{:?}",
        result.verdict
    );
}

/// The traceability matrix, both ways, generated from the spec and the
/// corpus (never edited by hand).
fn traceability() -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let (corpus, requirements) = load(&default_fixtures_dir()).expect("the corpus loads");
    let mut out = String::from(
        "# Traceability: clauses and cases\n\n\
         Generated from `spec/` and `fixtures/` by `conformance/tests/corpus.rs`; do not edit.\n\
         Regenerate with `INSTA_UPDATE=always cargo test -p moin-session-conformance --test corpus`.\n\
         A case covers a clause when the case or one of its steps lists the clause in `covers`.\n",
    );
    for profile in moin_session_spec::Profile::ALL {
        let mut by_clause: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut cases: Vec<(&str, Vec<&str>)> = Vec::new();
        for loaded in corpus.cases.iter().filter(|c| c.case.profile == *profile) {
            let mut covered: Vec<&str> = loaded.case.covers.iter().map(String::as_str).collect();
            for step in &loaded.case.steps {
                covered.extend(step.covers.iter().map(String::as_str));
            }
            covered.sort_unstable();
            covered.dedup();
            for clause in &covered {
                by_clause.entry(clause).or_default().push(&loaded.case.id);
            }
            cases.push((&loaded.case.id, covered));
        }
        let mut clauses = requirements.of_profile(*profile);
        clauses.sort_by_key(|r| r.line);
        let _ = writeln!(
            out,
            "\n## {profile}\n\n### Each clause and the cases that cover it\n"
        );
        let _ = writeln!(out, "| clause | section | cases |\n| --- | --- | --- |");
        for clause in clauses {
            let ids = by_clause
                .get(clause.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let list = if ids.is_empty() {
                "**none**".to_owned()
            } else {
                ids.iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "| `{}` | {} | {list} |", clause.id, clause.section);
        }
        if *profile == moin_session_spec::Profile::Hardened {
            inherited_clauses(&mut out, &requirements, &by_clause);
        }
        let _ = writeln!(out, "\n### Each case and the clauses it covers\n");
        let _ = writeln!(out, "| case | clauses |\n| --- | --- |");
        cases.sort_unstable();
        for (id, covered) in cases {
            let list = covered
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "| `{id}` | {list} |");
        }
    }
    out
}

/// The moin-1.9 clauses of the hardened profile: each inherited one with
/// the hardened cases that cover it, each replaced one with its
/// replacement (spec/hardened.md, sections 1 and 3).
fn inherited_clauses(
    out: &mut String,
    requirements: &moin_session_spec::requirements::Requirements,
    by_clause: &std::collections::BTreeMap<&str, Vec<&str>>,
) {
    use std::fmt::Write as _;
    let inheritance = moin_session_spec::corpus::Inheritance::builtin();
    let _ = writeln!(
        out,
        "\n### moin-1.9 clauses in this profile and the hardened cases that cover them\n"
    );
    let _ = writeln!(
        out,
        "| moin-1.9 clause | in hardened | cases |\n| --- | --- | --- |"
    );
    for clause in requirements.of_profile(moin_session_spec::Profile::Moin19) {
        let id = clause.id.as_str();
        let status = match inheritance.replacement(id) {
            None => "inherited".to_owned(),
            Some(r) => {
                let by =
                    r.by.iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                match &r.partial {
                    Some(part) => format!("inherited; replaced in part ({part}) by {by}"),
                    None => format!("replaced by {by}"),
                }
            }
        };
        let cases = if !inheritance.inherits(id) {
            "".to_owned()
        } else if let Some(ids) = by_clause.get(id) {
            ids.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        } else if let Some(why) = NOTHING_TO_ACT_ON
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, w)| w)
        {
            format!("none: {why}")
        } else {
            "**none**".to_owned()
        };
        let _ = writeln!(out, "| `{id}` | {status} | {cases} |");
    }
}

/// Inherited moin-1.9 clauses that have nothing to act on in the hardened
/// profile, as `spec/hardened.md` section 3 says; no case can cover them.
const NOTHING_TO_ACT_ON: &[(&str, &str)] = &[
    (
        "m19.cleanup.missing-expires",
        "every record has `expires` (`hard.persist.expires-at-once`)",
    ),
    (
        "m19.auth.account-invalid",
        "the records of a disabled or removed account are destroyed at the reconfiguration (`hard.end.account-disabled`)",
    ),
];

/// Every moin-1.9 clause the hardened profile inherits is covered by a
/// hardened case, but those with nothing to act on, which the hardened
/// spec names.
#[test]
fn every_inherited_clause_has_a_hardened_case() {
    let (corpus, requirements) = load(&default_fixtures_dir()).expect("the corpus loads");
    let inheritance = moin_session_spec::corpus::Inheritance::builtin();
    let covered: std::collections::BTreeSet<&str> = corpus
        .cases
        .iter()
        .filter(|c| c.case.profile == moin_session_spec::Profile::Hardened)
        .flat_map(|c| {
            c.case
                .covers
                .iter()
                .chain(c.case.steps.iter().flat_map(|s| s.covers.iter()))
        })
        .map(String::as_str)
        .collect();
    let spec = std::fs::read_to_string(default_fixtures_dir().join("../spec/hardened.md"))
        .expect("the hardened spec is readable");
    for (id, _) in NOTHING_TO_ACT_ON {
        assert!(
            spec.contains(&format!("`{id}`")) && !covered.contains(id),
            "{id}: the hardened spec must name it as having nothing to act on, and no case can cover it"
        );
    }
    let missing: Vec<&str> = requirements
        .of_profile(moin_session_spec::Profile::Moin19)
        .into_iter()
        .map(|r| r.id.as_str())
        .filter(|id| inheritance.inherits(id))
        .filter(|id| !covered.contains(id) && !NOTHING_TO_ACT_ON.iter().any(|(c, _)| c == id))
        .collect();
    assert!(
        missing.is_empty(),
        "inherited moin-1.9 clauses no hardened case covers:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_traceability_matrix_is_generated_and_current() {
    let path = default_fixtures_dir().join("../spec/traceability.md");
    let fresh = traceability();
    let update = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if update && current != fresh {
        std::fs::write(&path, &fresh).expect("spec/traceability.md is writable");
        return;
    }
    assert!(
        current == fresh,
        "spec/traceability.md is out of date with the spec and the corpus; regenerate it with \
         `INSTA_UPDATE=always cargo test -p moin-session-conformance --test corpus` and commit it"
    );
}
