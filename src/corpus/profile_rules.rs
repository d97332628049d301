//! What a case uses that its profile does not have
//! (`fixture.reserved-key`, `fixture.profile-action`,
//! `fixture.cookie-complete`).

use crate::exchange::{AuthAction, Op};
use crate::profile::Profile;

use super::step::Action;

/// What a request or cleanup of a case uses that its profile does not
/// have (`fixture.reserved-key`, `fixture.profile-action`), and hardened
/// cookie expectations that leave an attribute open
/// (`fixture.cookie-complete`).
pub(super) fn profile_problems(profile: Profile, action: &Action) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if profile == Profile::Hardened {
        hardened_cookie_problems(action, &mut out);
    }
    match action {
        Action::Request(spec, _) => {
            request_problems(profile, Some(&spec.auth), &spec.ops, &mut out)
        }
        Action::Open(spec, _) => request_problems(profile, Some(&spec.auth), &spec.ops, &mut out),
        Action::Ops(spec, _) => request_problems(profile, None, &spec.ops, &mut out),
        Action::Cleanup(spec, _) if profile == Profile::Moin16 && spec.user.is_some() => {
            out.push((
                "\"user\"".to_owned(),
                "cleanup by user is not part of profile moin-1.6 [rule fixture.profile-action]"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    out
}

/// A hardened expected cookie names `samesite`, and a hardened expected
/// deletion names `secure`, `httponly` and `samesite` (the deletion has the
/// attributes of the issued cookie, `hard.cookie.delete-form`).
fn hardened_cookie_problems(action: &Action, out: &mut Vec<(String, String)>) {
    let cookies = match action {
        Action::Request(_, expect) => &expect.set_cookies[..],
        Action::Finish(_, expect) => &expect.set_cookies[..],
        _ => &[][..],
    };
    for cookie in cookies
        .iter()
        .filter(|c| !c.deleted && c.samesite.is_none())
    {
        out.push((
            format!("\"{}\"", cookie.name),
            format!("expected cookie {:?} of a hardened case must give samesite [rule fixture.cookie-complete]", cookie.name),
        ));
    }
    for cookie in cookies.iter().filter(|c| {
        c.deleted && (c.secure.is_none() || c.httponly.is_none() || c.samesite.is_none())
    }) {
        out.push((
            format!("\"{}\"", cookie.name),
            format!("expected deletion {:?} of a hardened case must give secure, httponly and samesite [rule fixture.cookie-complete]", cookie.name),
        ));
    }
}

/// The ops and the authentication action of a request, an open or an ops
/// step, against the profile.
fn request_problems(
    profile: Profile,
    auth: Option<&AuthAction>,
    ops: &[Op],
    out: &mut Vec<(String, String)>,
) {
    for op in ops {
        op_problems(profile, op, out);
    }
    if profile != Profile::Hardened && matches!(auth, Some(AuthAction::EndOtherSessions)) {
        out.push((
            "\"end_other_sessions\"".to_owned(),
            format!("ending other sessions is a hardened request action, not part of profile {profile} [rule fixture.profile-action]"),
        ));
    }
    if profile == Profile::Moin16 && matches!(auth, Some(AuthAction::ChangeUser { .. })) {
        out.push((
            "\"change_user\"".to_owned(),
            "change user is not part of profile moin-1.6 [rule fixture.profile-action]".to_owned(),
        ));
    }
}

/// An op on a reserved key, or the 1.9 example macro in a moin-1.6 case.
fn op_problems(profile: Profile, op: &Op, out: &mut Vec<(String, String)>) {
    let key = match op {
        Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } => key,
        Op::Macro { edition, .. } => {
            if profile == Profile::Moin16 && *edition == crate::exchange::MacroEdition::V19 {
                out.push((
                    "\"1.9\"".to_owned(),
                    "the 1.9 example macro needs `is_new`, which moin-1.6 sessions do not have [rule fixture.profile-action]".to_owned(),
                ));
            }
            return;
        }
    };
    if profile.reserved_keys().contains(&key.as_str()) {
        out.push((
            format!("\"{key}\""),
            format!("{key:?} is a reserved session key of {profile}; conformance never touches it [rule fixture.reserved-key]"),
        ));
    }
}
