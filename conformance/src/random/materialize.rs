//! Materialisation: the model run over a [`Skeleton`], written as an
//! ordinary fixture case whose expectations are the model's observations,
//! with sids as symbols. A step the model cannot take at that point (a
//! reconfiguration it refuses, a corruption with no sid to corrupt, a
//! request it declines) is left out, so every materialised case is one the
//! model passes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use moin_session_spec::fixture::{
    Action, Case, CleanupExpect, CleanupSpec, CookieSource, LoadedCase, OpenExpect, OpenSpec,
    OpsSpec, RequestExpect, RequestSpec, Step,
};
use moin_session_spec::{
    AuthAction, Backend, CleanupMode, CleanupRequest, Config, ConfigPatch, Model, Op, Request,
};
use time::OffsetDateTime;

use crate::random::interleave::handle;
use crate::random::skeleton::{AbstractStep, CookiePick, Skeleton, Unrepresentable};
use crate::random::symbols::{finish, Browser};
use crate::run::compare::is_uncacheable;

/// Runs the model over `skeleton` and writes the case it observes.
pub fn materialize(skeleton: &Skeleton, id: &str) -> Result<LoadedCase, Unrepresentable> {
    let mut m = Materializer::new(skeleton)?;
    let start_config = m.config.clone();
    let mut steps = Vec::new();
    for step in &skeleton.steps {
        if let Some(action) = m.step(step)? {
            steps.push(plain(action));
        }
    }
    // Every open request finishes by the end of the case (fixture.interleave).
    let slots: Vec<u8> = m.open.keys().copied().collect();
    for slot in slots {
        if let Some(action) = finish(&mut m.model, &mut m.browser, &mut m.open, slot, m.now)? {
            steps.push(plain(action));
        }
    }
    Ok(LoadedCase {
        case: Case {
            id: id.to_owned(),
            title: "a random trace, minimised".to_owned(),
            covers: Vec::new(),
            profile: skeleton.profile,
            config: skeleton.config.clone(),
            start: skeleton.start,
            steps,
            rejects: None,
        },
        file: PathBuf::from("<random>"),
        config: Some(start_config),
    })
}

/// A step that covers nothing and has no note.
fn plain(action: Action) -> Step {
    Step {
        action,
        covers: Vec::new(),
        note: None,
    }
}

fn bad(e: &dyn std::fmt::Display) -> Unrepresentable {
    Unrepresentable(e.to_string())
}

/// The model's run over a skeleton, step by step.
struct Materializer {
    profile: moin_session_spec::Profile,
    patches: Vec<ConfigPatch>,
    config: Config,
    model: Model,
    browser: Browser,
    now: OffsetDateTime,
    /// Open requests by slot: the path and scheme they were sent with.
    open: BTreeMap<u8, (String, bool)>,
}

impl Materializer {
    fn new(skeleton: &Skeleton) -> Result<Self, Unrepresentable> {
        let patches = vec![skeleton.config.clone()];
        let config = Config::build(skeleton.profile, &patches).map_err(|e| bad(&e))?;
        let mut model = Model::new();
        model.reset(&config).map_err(|e| bad(&e))?;
        let mut browser = Browser::new(skeleton.profile);
        browser.header_limit = header_limit(&config);
        Ok(Materializer {
            profile: skeleton.profile,
            patches,
            config,
            model,
            browser,
            now: skeleton.start,
            open: BTreeMap::new(),
        })
    }

    /// The action one abstract step becomes, or `None` when the model
    /// cannot take it here.
    fn step(&mut self, step: &AbstractStep) -> Result<Option<Action>, Unrepresentable> {
        match step {
            AbstractStep::Advance(d) => {
                self.now += *d;
                Ok(Some(Action::Advance(*d)))
            }
            // A wiki restarts between requests (fixture.interleave).
            AbstractStep::Reconfigure(_) if !self.open.is_empty() => Ok(None),
            AbstractStep::Reconfigure(p) => self.reconfigure(p),
            AbstractStep::Corrupt => Ok(self.corrupt()),
            AbstractStep::List => {
                let sids = self.model.list().map_err(|e| bad(&e))?;
                Ok(Some(Action::List(self.browser.symbols.set(&sids)?)))
            }
            AbstractStep::Cleanup(mode, user) => self.cleanup(*mode, user.as_deref()).map(Some),
            AbstractStep::Request {
                https,
                cookies,
                auth,
                ops,
            } => self.request(*https, cookies, auth, ops),
            AbstractStep::Open {
                slot,
                https,
                cookies,
                auth,
                ops,
            } => self.open(*slot, *https, cookies, auth, ops),
            AbstractStep::Ops { slot, ops } => Ok(self.ops(*slot, ops)),
            AbstractStep::Finish { slot } => finish(
                &mut self.model,
                &mut self.browser,
                &mut self.open,
                *slot,
                self.now,
            ),
        }
    }

    fn reconfigure(&mut self, patch: &ConfigPatch) -> Result<Option<Action>, Unrepresentable> {
        let mut candidate = self.patches.clone();
        candidate.push(patch.clone());
        let Ok(config) = Config::build(self.profile, &candidate) else {
            return Ok(None);
        };
        self.patches = candidate;
        self.config = config;
        self.browser.header_limit = header_limit(&self.config);
        self.model.reconfigure(&self.config).map_err(|e| bad(&e))?;
        Ok(Some(Action::Reconfigure(patch.clone())))
    }

    /// Corrupts the record of the last strict sid the browser saw.
    fn corrupt(&mut self) -> Option<Action> {
        let (real, form) = self.browser.last.as_ref()?;
        if !form.starts_with("$s") || self.model.corrupt(real).is_err() {
            return None;
        }
        Some(Action::Corrupt(form.clone()))
    }

    fn cleanup(
        &mut self,
        mode: CleanupMode,
        user: Option<&str>,
    ) -> Result<Action, Unrepresentable> {
        let user = user.map(str::to_owned);
        let out = self
            .model
            .cleanup(&CleanupRequest {
                now: self.now,
                mode,
                user: user.clone(),
            })
            .map_err(|e| bad(&e))?;
        Ok(Action::Cleanup(
            CleanupSpec { mode, user },
            CleanupExpect {
                removed: self.browser.symbols.set(&out.removed)?,
            },
        ))
    }

    /// The request a request or open step sends now, with where its
    /// cookies come from.
    fn sent(
        &mut self,
        https: bool,
        cookies: &CookiePick,
        auth: &AuthAction,
        ops: &[Op],
    ) -> (CookieSource, Request) {
        let name = cookie_name(&self.config);
        let path = effective_path(&self.config);
        let (source, header) = self.browser.cookies(cookies, &name, &path, https, self.now);
        let request = Request {
            now: self.now,
            https,
            path,
            cookie_header: header,
            auth: auth.clone(),
            ops: ops.to_vec(),
        };
        (source, request)
    }

    fn request(
        &mut self,
        https: bool,
        cookies: &CookiePick,
        auth: &AuthAction,
        ops: &[Op],
    ) -> Result<Option<Action>, Unrepresentable> {
        let (source, request) = self.sent(https, cookies, auth, ops);
        let Ok(response) = self.model.request(&request) else {
            return Ok(None);
        };
        let set_cookies =
            self.browser
                .receive(&response.set_cookies, &request.path, https, self.now)?;
        Ok(Some(Action::Request(
            RequestSpec {
                https,
                path: request.path,
                cookies: source,
                auth: auth.clone(),
                ops: ops.to_vec(),
            },
            RequestExpect {
                new: response.new,
                user: response.user.clone(),
                set_cookies,
                results: response.results.clone(),
                uncacheable: response
                    .cache_control
                    .as_deref()
                    .is_some_and(is_uncacheable)
                    .then_some(true),
            },
        )))
    }

    fn open(
        &mut self,
        slot: u8,
        https: bool,
        cookies: &CookiePick,
        auth: &AuthAction,
        ops: &[Op],
    ) -> Result<Option<Action>, Unrepresentable> {
        if self.open.contains_key(&slot) {
            return Ok(None);
        }
        let (source, request) = self.sent(https, cookies, auth, ops);
        let Ok(opened) = self.model.open(&handle(slot), &request) else {
            return Ok(None);
        };
        self.open.insert(slot, (request.path.clone(), https));
        Ok(Some(Action::Open(
            OpenSpec {
                id: handle(slot),
                https,
                path: request.path,
                cookies: source,
                auth: auth.clone(),
                ops: ops.to_vec(),
            },
            OpenExpect {
                new: opened.new,
                user: opened.user,
                results: opened.results,
            },
        )))
    }

    fn ops(&mut self, slot: u8, ops: &[Op]) -> Option<Action> {
        if !self.open.contains_key(&slot) {
            return None;
        }
        let results = self.model.ops(&handle(slot), ops).ok()?;
        Some(Action::Ops(
            OpsSpec {
                id: handle(slot),
                ops: ops.to_vec(),
            },
            results,
        ))
    }
}

/// The hardened `Cookie` header limit, in bytes.
fn header_limit(config: &Config) -> Option<u64> {
    match config {
        Config::Hardened(c) => Some(c.max_cookie_header),
        _ => None,
    }
}

fn cookie_name(config: &Config) -> String {
    match config {
        Config::Moin19(c) => c.cookie_full_name(),
        Config::Moin16(_) => "MOIN_SESSION".to_owned(),
        Config::Hardened(c) => c.cookie_full_name(),
    }
}

fn effective_path(config: &Config) -> String {
    match config {
        Config::Moin19(c) => c.effective_path().to_owned(),
        Config::Moin16(c) => c.effective_path().to_owned(),
        Config::Hardened(c) => c.effective_path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moin_session_spec::fixture::CookieSource;
    use moin_session_spec::{LifetimeSetting, Profile};

    /// A padded header of one byte over the hardened limit is not read (a
    /// fresh session), one at the limit is, in two-byte characters too.
    #[test]
    fn padded_headers_meet_the_limit_in_bytes() {
        for (delta, new) in [(0, false), (1, true), (-1, false)] {
            let skeleton = Skeleton {
                profile: Profile::Hardened,
                config: ConfigPatch {
                    cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
                    max_cookie_header: Some(4096),
                    ..Default::default()
                },
                start: OffsetDateTime::from_unix_timestamp(1_235_908_830).unwrap(),
                steps: vec![
                    AbstractStep::Request {
                        https: false,
                        cookies: CookiePick::None,
                        auth: AuthAction::None,
                        ops: Vec::new(),
                    },
                    AbstractStep::Request {
                        https: false,
                        cookies: CookiePick::Padded {
                            delta,
                            multibyte: true,
                        },
                        auth: AuthAction::None,
                        ops: Vec::new(),
                    },
                ],
            };
            let case = materialize(&skeleton, "hard.random.padded").unwrap();
            let Action::Request(spec, expect) = &case.case.steps[1].action else {
                panic!("{:?}", case.case.steps);
            };
            let CookieSource::Header(h) = &spec.cookies else {
                panic!("{spec:?}");
            };
            assert!(h.contains('é'), "{h}");
            assert_eq!(expect.new, new, "delta {delta}");
        }
    }
}
