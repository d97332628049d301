//! The filter bar and the page's style sheet. The bar is one checkbox per
//! kind of entry (violated, deviates, failed, skipped, passed); the style
//! sheet hides the entries of each unchecked box
//! (`#show-passed:not(:checked)~#report .f-passed{display:none}`), so the
//! page filters without a script. Passes start unchecked: a run shows
//! what needs reading, and the passes are one click away.

use std::fmt::Write as _;

use crate::report::Outcome;

/// A kind of entry the bar shows or hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Filter {
    /// Requirement rows a failing case's differences were attributed to.
    Violated,
    /// Declared deviations, and the cases that differ only on them.
    Deviates,
    /// Cases that failed or errored, known failures included, and the
    /// rows they affect.
    Failed,
    /// Skipped cases, and the rows that only they cover.
    Skipped,
    /// Passed cases and rows.
    Passed,
}

impl Filter {
    /// Every kind, in the bar's order.
    pub(super) const ALL: [Filter; 5] = [
        Filter::Violated,
        Filter::Deviates,
        Filter::Failed,
        Filter::Skipped,
        Filter::Passed,
    ];

    /// The word on the bar.
    pub(super) fn name(self) -> &'static str {
        match self {
            Filter::Violated => "violated",
            Filter::Deviates => "deviates",
            Filter::Failed => "failed",
            Filter::Skipped => "skipped",
            Filter::Passed => "passed",
        }
    }

    /// The class of the entries it hides.
    pub(super) fn class(self) -> String {
        format!("f-{}", self.name())
    }

    /// Whether the page opens with these entries shown.
    fn shown_at_first(self) -> bool {
        self != Filter::Passed
    }

    /// The kind of a requirement row of this status ([`crate::report::row_status`]).
    pub(super) fn of_status(status: &str) -> Filter {
        match status {
            "VIOLATED" => Filter::Violated,
            "DEVIATES" => Filter::Deviates,
            "SKIP" => Filter::Skipped,
            "PASS" => Filter::Passed,
            _ => Filter::Failed,
        }
    }

    /// The kind of a case of this outcome.
    pub(super) fn of_outcome(outcome: Outcome) -> Filter {
        match outcome {
            Outcome::Passed => Filter::Passed,
            Outcome::Deviates => Filter::Deviates,
            Outcome::Skipped => Filter::Skipped,
            Outcome::Failed
            | Outcome::Errored
            | Outcome::ExpectedFailure
            | Outcome::UnexpectedPass => Filter::Failed,
        }
    }
}

const BASE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1.5em;max-width:75em;color:#222;line-height:1.35}\
h1,h2,h3,p,li,summary{overflow-wrap:anywhere}h2{margin:1.2em 0 .5em}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top;overflow-wrap:break-word}th,td.status,td.count,td.id{white-space:nowrap}.where{color:#555;font-size:90%}td.status{font-size:90%}\
.PASS{color:#176f2c}.VIOLATED,.FAIL,.ERROR,.XPASS,.violated,.UNUSED{color:#b00020;font-weight:bold}.AFFECTED,.SKIP,.XFAIL,.DEVIATES{color:#8a6d00}\
pre{background:#f6f6f6;padding:.8em;margin:.3em 0;white-space:pre-wrap;overflow-wrap:anywhere}pre .failed{background:#ffe3e3;display:block}\
.diff{color:#b00020}code{font-size:95%}ul{margin:.3em 0}\
.clause{border-left:3px solid #ccc;padding-left:.8em;margin:.6em 0}.clause p{margin:.2em 0}\
.case{border-top:1px solid #ddd;padding:.3em 0}.case h3{margin:.3em 0;font-size:1.05em}.case p{margin:.2em 0}\
summary{cursor:pointer}details{margin:.3em 0}.ids{margin:.3em 0 .6em 1.2em}\
nav#filters{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd}\
nav#filters label{display:inline-block;border:1px solid #bbb;border-radius:1em;padding:.1em .8em;margin:.15em .2em;cursor:pointer;user-select:none;color:#555}\
nav#filters label::before{content:\"\\2610  \"}input.filter{position:absolute;opacity:0;width:1px;height:1px}";

/// The style sheet: the base rules, and per filter the rule that hides
/// its entries while its box is unchecked and the look of its label.
pub(super) fn style() -> String {
    let mut css = BASE_STYLE.to_owned();
    for f in Filter::ALL {
        let n = f.name();
        let _ = write!(
            css,
            "#show-{n}:not(:checked)~#report .f-{n}{{display:none}}\
             #show-{n}:checked~nav label[for=show-{n}]{{background:#eef2fb;border-color:#6b8ad6;color:#222}}\
             #show-{n}:checked~nav label[for=show-{n}]::before{{content:\"\\2611  \"}}\
             #show-{n}:focus-visible~nav label[for=show-{n}]{{outline:2px solid #4a6fd0}}"
        );
    }
    // The line that says passes are hidden goes when they are shown.
    css.push_str("#show-passed:checked~#report .when-passes-hidden{display:none}");
    css
}

/// The bar: the checkboxes (before `#report`, whose entries the style
/// sheet hides) and their labels, each with its count.
pub(super) fn bar(out: &mut String, counts: &[(Filter, String)]) {
    for (f, _) in counts {
        let _ = writeln!(
            out,
            "<input type=\"checkbox\" class=\"filter\" id=\"show-{}\"{}/>",
            f.name(),
            if f.shown_at_first() {
                " checked=\"checked\""
            } else {
                ""
            }
        );
    }
    let _ = write!(out, "<nav id=\"filters\">show: ");
    for (f, count) in counts {
        let _ = write!(
            out,
            "<label for=\"show-{n}\" title=\"show or hide the {n} entries\">{n}: {count}</label>",
            n = f.name()
        );
    }
    let _ = writeln!(out, "</nav>");
}
