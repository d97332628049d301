//! The HTML and Markdown reports as people read them (issue 20, item 7):
//! the HTML page has a filter bar (violated, deviates, failed, skipped,
//! passed) with the passes hidden until asked for; skips are one line per
//! reason with their cases folded, in HTML and in Markdown; the spec's
//! code spans are `<code>`, with no raw backtick left in a summary; a
//! failing case shows its differences with its transcript folded; one
//! error is shown once; and what a backend, a fixture or an expectations
//! file wrote stays inert.
//!
//! The run: the moin-1.9 corpus on the model with two faults (always
//! HttpOnly, declared as a deviation; and logouts ignored, which fails),
//! every seventh passing case turned into a skip for one of two reasons
//! (one hostile), some others into errors with one message but for its
//! numbers, and a hostile title on a failing case.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use moin_session_conformance::proof::faulty::{Fault, Faulty};
use moin_session_conformance::report::{self, Outcome};
use moin_session_conformance::run::expectations::{Deviation, Origin};
use moin_session_conformance::run::runner::{CaseResult, Verdict};
use moin_session_conformance::{load_builtin, run_all_with, Selection};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{Model, Profile};
use moin_session_testkit::cli::Cli;
use roxmltree::{Document, Node};

/// Markup, a Markdown code span that tries to close the page's `<code>`,
/// a terminal title sequence.
const HOSTILE: &str =
    "<img src=x onerror=alert(1)> `</code><script>alert(2)</script>` \u{1b}]0;pwned\u{7} <!--";
/// A skip reason with a code span, at two different steps (one group).
const NO_CORRUPT: [&str; 2] = [
    "step 2: the backend does not support `corrupt`",
    "step 5: the backend does not support `corrupt`",
];

struct Run {
    results: Vec<CaseResult>,
    requirements: Requirements,
    titles: BTreeMap<String, String>,
    declared: Vec<Deviation>,
}

fn run() -> Run {
    let (corpus, requirements) = load_builtin().unwrap();
    let cases = Selection {
        profiles: vec![Profile::Moin19],
        ..Selection::default()
    }
    .apply(&corpus);
    let declared = vec![Deviation {
        clause: "m19.cookie.httponly".to_owned(),
        reason: format!("always sent; see `cookie_httponly` {HOSTILE}"),
        issue: Some("https://example.org/7".to_owned()),
        origin: Origin::Code,
    }];
    let mut backend = Faulty::new(
        Faulty::new(Model::new(), Fault::HttpOnlyAlways),
        Fault::LogoutIgnored,
    );
    let mut results = run_all_with(&mut backend, &cases, &declared, |_, _| {});
    let mut titles: BTreeMap<String, String> = cases
        .iter()
        .map(|c| (c.case.id.clone(), c.case.title.clone()))
        .collect();
    let mut turned = 0;
    for r in results.iter_mut() {
        if matches!(Outcome::of(r), Outcome::Passed | Outcome::Deviates) {
            turned += 1;
            if turned % 7 == 0 {
                let reason = match turned % 3 {
                    0 => HOSTILE.to_owned(),
                    n => NO_CORRUPT[n - 1].to_owned(),
                };
                r.verdict = Verdict::Skipped { reason };
                r.steps.clear();
                r.deviations.clear();
            } else if turned % 10 == 0 {
                // One error, its numbers new each time (a full disk).
                let message = format!("cannot save /var/lib/s/{turned:040}.tmp: no space left");
                r.verdict = Verdict::Errored { step: 1, message };
                r.deviations.clear();
            }
        }
    }
    let failing = results
        .iter()
        .find(|r| Outcome::of(r) == Outcome::Failed)
        .expect("the faulty model fails some case");
    titles.insert(
        failing.id.clone(),
        format!("a very long title {} {HOSTILE}", "that goes on ".repeat(30)),
    );
    Run {
        results,
        requirements,
        titles,
        declared,
    }
}

/// The run and its HTML page, made once for every test here: the tests
/// only read them.
fn shared() -> &'static (Run, String) {
    static SHARED: OnceLock<(Run, String)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let run = run();
        let page = html(&run);
        (run, page)
    })
}

fn html(run: &Run) -> String {
    let versions = report::Versions::of_run(None);
    report::html::HtmlReport {
        results: &run.results,
        titles: &run.titles,
        requirements: &run.requirements,
        profiles: &[Profile::Moin19],
        backend: &format!("faulty model {HOSTILE}"),
        versions: &versions,
        deviations: &run.declared,
        stopped: None,
    }
    .render()
}

fn parse(page: &str) -> Document<'_> {
    let body = page
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("an HTML5 doctype");
    Document::parse(body).unwrap_or_else(|e| panic!("not well-formed: {e}\n{page}"))
}

/// The text of a node and everything in it.
fn text(n: Node) -> String {
    n.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn has_class(n: Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split(' ').any(|c| c == class))
}

fn by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no element #{id}"))
}

/// The skip reasons and how many cases each, as the run made them.
fn skip_counts(run: &Run) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &run.results {
        if let Verdict::Skipped { reason } = &r.verdict {
            let reason = reason
                .split_once(": ")
                .filter(|(s, _)| s.starts_with("step "));
            let reason = reason.map_or(HOSTILE, |(_, rest)| rest).to_owned();
            match counts.iter_mut().find(|(m, _)| *m == reason) {
                Some((_, n)) => *n += 1,
                None => counts.push((reason, 1)),
            }
        }
    }
    counts
}

/// The clauses whose requirement row reads `status`, sorted.
fn clauses_of_status(results: &[CaseResult], status: &str) -> Vec<String> {
    let violations = report::violations(results);
    report::by_requirement(results)
        .iter()
        .filter(|(id, s)| {
            let by = violations.get(*id).map_or(&[][..], Vec::as_slice);
            report::row_status(s, by) == status
        })
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn the_filter_bar_shows_every_kind_and_hides_the_passes_at_first() {
    let (run, page) = shared();
    let doc = parse(page);
    let report = by_id(&doc, "report");
    let kinds = ["violated", "deviates", "failed", "skipped", "passed"];
    let labels: Vec<&str> = by_id(&doc, "filters")
        .descendants()
        .filter(|n| n.has_tag_name("label"))
        .filter_map(|n| n.attribute("for"))
        .collect();
    let expected: Vec<String> = kinds.iter().map(|k| format!("show-{k}")).collect();
    assert_eq!(labels, expected);
    let style = text(doc.descendants().find(|n| n.has_tag_name("style")).unwrap());
    for kind in kinds {
        let input = by_id(&doc, &format!("show-{kind}"));
        assert_eq!(input.attribute("type"), Some("checkbox"));
        // A sibling before #report, so that `~#report` reaches its entries.
        assert!(
            input.next_siblings().any(|n| n == report),
            "#show-{kind} comes before #report, beside it"
        );
        assert_eq!(
            input.attribute("checked").is_some(),
            kind != "passed",
            "only the passes start hidden: #show-{kind}"
        );
        let rule = format!("#show-{kind}:not(:checked)~#report .f-{kind}{{display:none}}");
        assert!(style.contains(&rule), "no {rule} in {style}");
        let entries = doc
            .descendants()
            .filter(|n| has_class(*n, &format!("f-{kind}")));
        for e in entries {
            assert!(
                e.ancestors().any(|a| a == report),
                "f-{kind} outside #report"
            );
        }
    }
    // Every passing row, and only those, hides with the passes; no passed
    // case has a section of its own.
    let rows: Vec<Node> = report
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .collect();
    let (mut passing, mut violated) = (0, 0);
    for row in &rows {
        let status = row.first_element_child().map(text).unwrap_or_default();
        passing += usize::from(status == "PASS");
        violated += usize::from(status == "VIOLATED");
        // A violated clause's row links to its text, in full on the
        // page; any other row folds its text under its first sentence.
        let link = row.descendants().find_map(|n| n.attribute("href"));
        match link.and_then(|l| l.strip_prefix('#')) {
            Some(clause) => assert!(has_class(by_id(&doc, clause), "clause"), "{clause}"),
            None if ["PASS", "AFFECTED"].contains(&status.as_str()) => {
                let fold = row.descendants().find(|n| n.has_tag_name("details"));
                assert!(
                    fold.is_some_and(|f| f.attribute("open").is_none()),
                    "{}",
                    text(*row)
                );
            }
            None => assert_ne!(status, "VIOLATED", "{}", text(*row)),
        }
        if row
            .first_element_child()
            .is_some_and(|c| c.has_tag_name("td"))
            && !status.is_empty()
        {
            let hidden = has_class(*row, "f-passed");
            assert_eq!(hidden, status == "PASS", "{status}: {}", text(*row));
        }
    }
    assert!(passing > 20, "{passing} passing rows");
    assert!(violated > 0, "no violated row");
    // The clauses only skipped cases cover are one row; so are those
    // with a case that errored and none that failed.
    for (status, class, kind) in [
        ("SKIP", "skipped-only", "f-skipped"),
        ("ERROR", "errored-only", "f-failed"),
    ] {
        let expected = clauses_of_status(&run.results, status);
        assert!(!expected.is_empty(), "no {status} clause");
        let one: Vec<&Node> = rows.iter().filter(|r| has_class(**r, class)).collect();
        assert_eq!(one.len(), 1, "{class}");
        assert!(has_class(*one[0], kind), "{class}");
        let mut listed: Vec<String> = one[0]
            .descendants()
            .filter(|n| n.has_tag_name("code"))
            .map(text)
            .collect();
        listed.sort();
        assert_eq!(listed, expected, "{class}");
    }
    for r in run
        .results
        .iter()
        .filter(|r| Outcome::of(r) == Outcome::Passed)
    {
        let id = format!("case-{}", r.id);
        assert!(!doc
            .descendants()
            .any(|n| n.attribute("id") == Some(id.as_str())));
    }
    let passed = by_id(&doc, "passed");
    assert!(has_class(passed, "f-passed"));
    let s = report::Summary::of(&run.results);
    let bar = text(by_id(&doc, "filters"));
    for (kind, n) in [
        ("deviates", s.deviated),
        (
            "failed",
            s.failed + s.errored + s.expected_failures + s.unexpected_passes,
        ),
        ("skipped", s.skipped),
        ("passed", s.passed),
    ] {
        assert!(bar.contains(&format!("{kind}: {n} case(s)")), "{bar}");
    }
    assert!(
        bar.contains(&format!("violated: {violated} clause(s)")),
        "{bar}"
    );
}

#[test]
fn html_skips_are_one_line_per_reason_with_their_cases_folded() {
    let (run, page) = shared();
    let doc = parse(page);
    let expected = skip_counts(run);
    assert_eq!(expected.len(), 2, "{expected:?}");
    let groups: Vec<Node> = by_id(&doc, "skipped")
        .children()
        .filter(|n| has_class(*n, "skip-group"))
        .collect();
    assert_eq!(groups.len(), expected.len());
    for (group, (reason, n)) in groups.iter().zip(&expected) {
        assert!(group.has_tag_name("details") && group.attribute("open").is_none());
        let summary = group.first_element_child().expect("a summary");
        assert!(summary.has_tag_name("summary"));
        let line = text(summary);
        let reason = reason.replace('`', "").replace('\u{1b}', "\\u{1b}");
        let reason = reason.replace('\u{7}', "\\u{7}");
        assert_eq!(line, format!("SKIP {n} case(s): {reason}"));
        let ids = text(group.last_element_child().unwrap());
        assert_eq!(ids.split(", ").count(), *n, "{ids}");
    }
    let code = groups[0].descendants().find(|n| n.has_tag_name("code"));
    assert_eq!(code.map(text).as_deref(), Some("corrupt"));
    // A skipped case is not among the cases that did not pass.
    let skipped = run
        .results
        .iter()
        .find(|r| Outcome::of(r) == Outcome::Skipped)
        .unwrap();
    assert!(!text(by_id(&doc, "not-passed")).contains(&skipped.id));
}

/// Cases that errored with one error, numbers aside, are one block: the
/// first with its message and transcript, the others folded under it.
#[test]
fn html_shows_one_error_once() {
    let (run, page) = shared();
    let doc = parse(page);
    let errored: Vec<&str> = run
        .results
        .iter()
        .filter(|r| Outcome::of(r) == Outcome::Errored)
        .map(|r| r.id.as_str())
        .collect();
    assert!(errored.len() > 2, "{errored:?}");
    let blocks: Vec<Node> = doc
        .descendants()
        .filter(|n| has_class(*n, "case") && text(*n).starts_with("ERROR "))
        .collect();
    assert_eq!(blocks.len(), 1);
    let id = format!("case-{}", errored[0]);
    assert_eq!(blocks[0].attribute("id"), Some(id.as_str()));
    let more = blocks[0]
        .descendants()
        .filter(|n| n.has_tag_name("summary"))
        .map(text)
        .find(|t| t.contains("more case(s) with the same error"))
        .expect("the others, folded");
    let n = errored.len() - 1;
    assert!(more.starts_with(&format!("{n} more case(s)")), "{more}");
}

#[test]
fn html_renders_the_spec_code_spans_and_nothing_else() {
    let (_, page) = shared();
    let doc = parse(page);
    let mut summaries = 0;
    for row in doc.descendants().filter(|n| n.has_tag_name("tr")) {
        let Some(cell) = row.children().filter(|n| n.has_tag_name("td")).nth(4) else {
            continue;
        };
        summaries += 1;
        assert!(!text(cell).contains('`'), "a raw backtick: {}", text(cell));
    }
    assert!(summaries > 20, "{summaries} summaries");
    let row = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("tr")
                && n.children()
                    .nth(1)
                    .is_some_and(|c| text(c) == "m19.cookie.max-age")
        })
        .expect("the max-age row");
    let code: Vec<String> = row
        .descendants()
        .filter(|n| n.has_tag_name("code"))
        .map(text)
        .collect();
    assert_eq!(
        code,
        [
            "m19.cookie.max-age",
            "Max-Age=L",
            "L",
            "r[m19.cookie.max-age]"
        ]
    );
    // The violated clauses' text in full: code spans, no backtick.
    let clauses: Vec<Node> = doc
        .descendants()
        .filter(|n| has_class(*n, "clause"))
        .collect();
    assert!(!clauses.is_empty());
    for clause in &clauses {
        assert!(!text(*clause).contains('`'), "{}", text(*clause));
    }
    let code_in = |c: &Node| c.descendants().filter(|n| n.has_tag_name("code")).count();
    assert!(
        clauses.iter().any(|c| code_in(c) > 1),
        "no code span in a clause's text"
    );
}

#[test]
fn html_keeps_hostile_text_inert_and_wraps_long_titles() {
    let (run, page) = shared();
    let doc = parse(page);
    for n in doc.descendants() {
        assert!(
            !matches!(n.tag_name().name(), "script" | "img" | "iframe" | "link"),
            "a {} element",
            n.tag_name().name()
        );
        assert!(!n.is_comment(), "a comment");
        for a in n.attributes() {
            assert!(!a.name().starts_with("on"), "an {} attribute", a.name());
        }
    }
    assert!(!page.contains('\u{1b}') && !page.contains('\u{7}'));
    let failing = run
        .results
        .iter()
        .find(|r| Outcome::of(r) == Outcome::Failed)
        .unwrap();
    let block = by_id(&doc, &format!("case-{}", failing.id));
    let title = text(block.first_element_child().unwrap());
    assert!(title.contains("<img src=x onerror=alert(1)>"), "{title}");
    assert!(title.contains("\\u{1b}]0;pwned"), "{title}");
    // The whole title is there, to wrap: nothing clips it.
    assert!(title.contains(&"that goes on ".repeat(30)), "{title}");
    let style = text(doc.descendants().find(|n| n.has_tag_name("style")).unwrap());
    assert!(style.contains("h1,h2,h3,p,li,summary{overflow-wrap:anywhere}"));
    assert!(style.contains("white-space:pre-wrap"));
    // The differences show; the transcript is folded.
    assert!(block.descendants().any(|n| has_class(n, "diff")));
    let pre = block.descendants().find(|n| n.has_tag_name("pre")).unwrap();
    let fold = pre.parent().unwrap();
    assert!(fold.has_tag_name("details") && fold.attribute("open").is_none());
    let deviations = text(by_id(&doc, "deviations"));
    assert!(
        deviations.contains("<script>alert(2)</script>"),
        "{deviations}"
    );
}

#[test]
fn markdown_skips_are_one_line_per_reason_with_their_cases_folded() {
    let (run, _) = shared();
    let md = report::markdown(
        &run.results,
        &run.requirements,
        &[Profile::Moin19],
        "faulty model",
        &run.declared,
    );
    let expected = skip_counts(run);
    let total: usize = expected.iter().map(|(_, n)| n).sum();
    let heading = format!("### Skipped: {total} case(s), 2 reason(s) (never counted as passed)");
    let section = md
        .split_once(&heading)
        .unwrap_or_else(|| panic!("no {heading:?} in\n{md}"))
        .1;
    let lines: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("<details><summary>") && l.contains("case(s): "))
        .collect();
    assert_eq!(lines.len(), 2, "{section}");
    assert_eq!(
        lines[0],
        format!(
            "<details><summary>{} case(s): the backend does not support <code>corrupt</code></summary>",
            expected[0].1
        )
    );
    assert!(lines[1].starts_with(&format!(
        "<details><summary>{} case(s): &lt;img src=x",
        expected[1].1
    )));
    assert!(!md.contains("<img") && !md.contains("<script") && !md.contains("<!--"));
    assert!(!md.contains('\u{1b}'));
    // The skipped cases are not rows of the table of cases that did not pass.
    let table = md
        .split_once("### Not passed")
        .map(|(_, t)| t.split("\n\n").nth(1).unwrap_or(""))
        .expect("a table of the failures");
    for r in run
        .results
        .iter()
        .filter(|r| Outcome::of(r) == Outcome::Skipped)
    {
        assert!(!table.contains(&format!("`{}`", r.id)), "{table}");
    }
}

/// Through the CLI: an adapter that writes escape sequences and markup
/// into its name, error messages and user names gives an HTML page that
/// parses, shows them as text and loads nothing.
#[test]
fn html_from_a_hostile_adapter_stays_inert() {
    let adapter = format!(
        "{} --misbehave hostile-text",
        env!("CARGO_BIN_EXE_moin-session-adapter")
    );
    let ran = Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
        .check(
            "--case m19.auth --format html --stop-after-errors 0",
            &adapter,
        )
        .exits(1)
        .says(&["&lt;img src=x onerror=alert(1)&gt;"])
        .never_says(&["<img", "<!--", "\u{1b}"]);
    let doc = parse(&ran.stdout);
    assert!(doc
        .descendants()
        .all(|n| !n.has_tag_name("img") && !n.is_comment()));
}
