//! Random traces fitted to what a backend offers
//! ([`moin_session_spec::Capabilities`]): an optional operation it lacks
//! is never drawn, and a configuration value it does not support is
//! replaced by one it does, so that a backend is judged on what it
//! implements and a lacking option never sinks a random run.
//!
//! The generator draws as for a backend that offers everything, and the
//! trace is then fitted, so a seed gives the same traces on every backend
//! that offers everything, and traces that differ only where the backend
//! lacks something on the others.

use moin_session_spec::{AuthAction, Capabilities, Config, ConfigPatch, Profile};

use crate::random::skeleton::{AbstractStep, Skeleton};

/// What random traces leave out for a backend with `caps`, one sentence
/// each (empty when it offers everything).
pub fn left_out(caps: &Capabilities) -> Vec<String> {
    let mut out: Vec<String> = caps
        .lacking()
        .into_iter()
        .map(|(name, what)| format!("{what}: the backend does not offer it (capability `{name}`)"))
        .collect();
    for (setting, values) in &caps.configurations.0 {
        let listed: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        out.push(format!(
            "{setting} other than {}: the backend supports only those (capability `configurations`)",
            listed.join(" or ")
        ));
    }
    out
}

/// `skeleton` with what the backend lacks taken out: corrupt steps
/// dropped, change user and cleanups by user turned into a plain request
/// and a cleanup of everyone, https requests sent over http, and
/// configurations moved to supported values.
pub fn fit(mut skeleton: Skeleton, caps: &Capabilities) -> Skeleton {
    if !caps.corrupt {
        skeleton
            .steps
            .retain(|s| !matches!(s, AbstractStep::Corrupt));
    }
    for step in &mut skeleton.steps {
        fit_step(step, caps);
    }
    if !caps.configurations.is_empty() {
        fit_configs(&mut skeleton, caps);
    }
    skeleton
}

fn fit_step(step: &mut AbstractStep, caps: &Capabilities) {
    match step {
        AbstractStep::Request { https, auth, .. } | AbstractStep::Open { https, auth, .. } => {
            if !caps.https {
                *https = false;
            }
            if !caps.change_user && matches!(auth, AuthAction::ChangeUser { .. }) {
                *auth = AuthAction::None;
            }
        }
        AbstractStep::Cleanup(_, user) if !caps.cleanup_by_user => *user = None,
        _ => {}
    }
}

/// The initial configuration, then each reconfiguration on top of what
/// came before, moved to supported values.
fn fit_configs(skeleton: &mut Skeleton, caps: &Capabilities) {
    let profile = skeleton.profile;
    let mut patches = vec![skeleton.config.clone()];
    fit_last(profile, &mut patches, caps);
    skeleton.config = patches[0].clone();
    for step in &mut skeleton.steps {
        if let AbstractStep::Reconfigure(patch) = step {
            patches.push((**patch).clone());
            fit_last(profile, &mut patches, caps);
            **patch = patches.last().expect("just pushed").clone();
        }
    }
}

/// Sets each limited setting the configuration built from `patches` does
/// not support to its first supported value, in the last patch.
fn fit_last(profile: Profile, patches: &mut [ConfigPatch], caps: &Capabilities) {
    for (setting, _) in caps.configurations.0.iter() {
        let Ok(config) = Config::build(profile, patches) else {
            return;
        };
        if let (Some(_), Some(first)) = (
            caps.configurations.refuses(&config),
            caps.configurations.first(setting),
        ) {
            let last = patches.last_mut().expect("one patch at least");
            *last = with_setting(last, setting, first);
        }
    }
}

/// `patch` with `setting` set to `value` (a limitable setting is written
/// the same in a patch and in a configuration).
fn with_setting(patch: &ConfigPatch, setting: &str, value: &serde_json::Value) -> ConfigPatch {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::to_value(patch) else {
        return patch.clone();
    };
    fields.insert(setting.to_owned(), value.clone());
    serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or_else(|_| patch.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::generate::random_skeleton;
    use crate::random::skeleton::Rng;

    #[test]
    fn a_trace_for_a_backend_that_lacks_everything_uses_nothing_optional() {
        let mut caps = Capabilities {
            cleanup_by_user: false,
            change_user: false,
            https: false,
            ..Capabilities::default()
        };
        caps.configurations
            .limit("cookie_httponly", vec![serde_json::json!(true)])
            .unwrap();
        let mut rng = Rng::new(7);
        for _ in 0..300 {
            let s = fit(random_skeleton(Profile::Moin19, &mut rng), &caps);
            let mut patches = vec![s.config.clone()];
            assert!(caps
                .configurations
                .refuses(&Config::build(Profile::Moin19, &patches).unwrap())
                .is_none());
            for step in &s.steps {
                match step {
                    AbstractStep::Corrupt => panic!("corrupt drawn"),
                    AbstractStep::Request { https, auth, .. } => {
                        assert!(!https);
                        assert!(!matches!(auth, AuthAction::ChangeUser { .. }));
                    }
                    AbstractStep::Cleanup(_, user) => assert!(user.is_none()),
                    AbstractStep::Reconfigure(p) => {
                        patches.push((**p).clone());
                        if let Ok(c) = Config::build(Profile::Moin19, &patches) {
                            assert!(caps.configurations.refuses(&c).is_none());
                        }
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(left_out(&caps).len(), 6, "{:?}", left_out(&caps));
    }

    #[test]
    fn a_backend_that_offers_everything_gets_the_trace_as_drawn() {
        let everything = Capabilities {
            corrupt: true,
            interleave: true,
            ..Capabilities::default()
        };
        let s = random_skeleton(Profile::Moin19, &mut Rng::new(3));
        assert_eq!(fit(s.clone(), &everything), s);
        assert!(left_out(&everything).is_empty());
    }
}
