//! Wrappers without the boilerplate: [`forward_store_calls!`] writes the
//! [`Store`](moin_session_spec::store::Store) calls a wrapper passes on
//! unchanged, [`forward_backend_calls!`] the
//! [`Backend`](moin_session_spec::Backend) calls, so that a wrapper (a
//! faulty store or backend, a test double, the switches of the
//! multi-process worker, the adapter's misbehaviours) spells out only the
//! calls it changes, and lists the ones it forwards. A call it neither
//! changes nor lists keeps the trait's default, as an implementation that
//! leaves it out has it (which is how a test double declines `corrupt`, or
//! keeps the in-process default `update`).
//!
//! [`forward_store_calls!`]: crate::forward_store_calls
//! [`forward_backend_calls!`]: crate::forward_backend_calls

/// Writes, inside an `impl Store for …` block, each named call of the
/// store contract as a call of the same name on the store in
/// `self.<field>` (a field name or a tuple index); the names are those of
/// [`Store`](moin_session_spec::store::Store)'s methods. `update_through`
/// (given with the name of a method `fn(&self, Change) -> Change`) is the
/// field's `update`, with each decision passed through that method before
/// it is committed.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use moin_session_spec::store::{Record, Store, StoreError};
/// use moin_session_spec::MemoryStore;
///
/// /// Counts saves; every other call is the memory store's, except
/// /// `corrupt`, left to the trait's default (declined).
/// struct Counting(MemoryStore, AtomicUsize);
///
/// impl Store for Counting {
///     moin_session_conformance::forward_store_calls!(0: load, delete, delete_if, list, update, clear);
///     fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
///         self.1.fetch_add(1, Ordering::Relaxed);
///         self.0.save(sid, record)
///     }
/// }
///
/// let store = Counting(MemoryStore::new(), AtomicUsize::new(0));
/// let id = "ab".repeat(20);
/// store.save(&id, &Record::new()).unwrap();
/// assert_eq!(store.list().unwrap(), vec![id.clone()]);
/// assert_eq!(store.1.load(Ordering::Relaxed), 1);
/// assert!(store.corrupt(&id).is_err());
/// ```
#[macro_export]
macro_rules! forward_store_calls {
    ($field:tt: $($call:ident $(($map:ident))?),+ $(,)?) => {
        $($crate::forward_store_calls!(@$call $field $($map)?);)+
    };
    (@load $f:tt) => {
        fn load(&self, sid: &str) -> $crate::proof::forward::Result<Option<$crate::proof::forward::Loaded>> { self.$f.load(sid) }
    };
    (@save $f:tt) => {
        fn save(&self, sid: &str, record: &$crate::proof::forward::Record) -> $crate::proof::forward::Result<()> { self.$f.save(sid, record) }
    };
    (@delete $f:tt) => {
        fn delete(&self, sid: &str) -> $crate::proof::forward::Result<()> { self.$f.delete(sid) }
    };
    (@delete_if $f:tt) => {
        fn delete_if(&self, sid: &str, condition: &dyn Fn(&$crate::proof::forward::Loaded) -> bool) -> $crate::proof::forward::Result<bool> { self.$f.delete_if(sid, condition) }
    };
    (@list $f:tt) => {
        fn list(&self) -> $crate::proof::forward::Result<Vec<String>> { self.$f.list() }
    };
    (@update $f:tt) => {
        fn update(&self, id: &str, on_conflict: $crate::proof::forward::OnConflict, decide: $crate::proof::forward::Decide<'_>) -> $crate::proof::forward::Result<$crate::proof::forward::Updated> { self.$f.update(id, on_conflict, decide) }
    };
    (@update_through $f:tt $map:ident) => {
        fn update(&self, id: &str, on_conflict: $crate::proof::forward::OnConflict, decide: $crate::proof::forward::Decide<'_>) -> $crate::proof::forward::Result<$crate::proof::forward::Updated> {
            self.$f.update(id, on_conflict, &mut |loaded| self.$map(decide(loaded)))
        }
    };
    (@clear $f:tt) => {
        fn clear(&self) -> $crate::proof::forward::Result<()> { self.$f.clear() }
    };
    (@delete_expired_if $f:tt) => {
        fn delete_expired_if(&self, before: i64, condition: &dyn Fn(&str, &$crate::proof::forward::Loaded) -> bool) -> $crate::proof::forward::Result<Vec<String>> { self.$f.delete_expired_if(before, condition) }
    };
    (@can_corrupt $f:tt) => {
        fn can_corrupt(&self) -> bool { self.$f.can_corrupt() }
    };
    (@begin_batch $f:tt) => {
        fn begin_batch(&self) -> $crate::proof::forward::Result<()> { self.$f.begin_batch() }
    };
    (@end_batch $f:tt) => {
        fn end_batch(&self) -> $crate::proof::forward::Result<()> { self.$f.end_batch() }
    };
    (@corrupt $f:tt) => {
        fn corrupt(&self, sid: &str) -> $crate::proof::forward::Result<()> { self.$f.corrupt(sid) }
    };
}

/// Writes, inside an `impl Backend for …` block, each named call of the
/// [`Backend`](moin_session_spec::Backend) trait as a call of the same
/// name on the backend in `self.<field>`, as
/// [`forward_store_calls!`](crate::forward_store_calls) does for stores.
///
/// ```
/// use moin_session_spec::{Backend, BackendError, Config, Model, Profile};
///
/// /// The model, counting resets.
/// struct Counting(Model, usize);
///
/// impl Backend for Counting {
///     moin_session_conformance::forward_backend_calls!(0: info, reconfigure, request, cleanup, list);
///     fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
///         self.1 += 1;
///         self.0.reset(config)
///     }
/// }
///
/// let mut counting = Counting(Model::new(), 0);
/// counting.reset(&Config::build(Profile::Moin19, &[]).unwrap()).unwrap();
/// assert_eq!((counting.1, counting.info().name), (1, Model::new().info().name));
/// ```
#[macro_export]
macro_rules! forward_backend_calls {
    ($field:tt: $($call:ident),+ $(,)?) => {
        $($crate::forward_backend_calls!(@$call $field);)+
    };
    (@info $f:tt) => {
        fn info(&self) -> ::moin_session_spec::BackendInfo { self.$f.info() }
    };
    (@reset $f:tt) => {
        fn reset(&mut self, config: &::moin_session_spec::Config) -> $crate::proof::forward::Answer<()> { self.$f.reset(config) }
    };
    (@reconfigure $f:tt) => {
        fn reconfigure(&mut self, config: &::moin_session_spec::Config) -> $crate::proof::forward::Answer<()> { self.$f.reconfigure(config) }
    };
    (@request $f:tt) => {
        fn request(&mut self, request: &::moin_session_spec::Request) -> $crate::proof::forward::Answer<::moin_session_spec::Response> { self.$f.request(request) }
    };
    (@request_batch $f:tt) => {
        fn request_batch(&mut self, requests: &[::moin_session_spec::Request]) -> Vec<$crate::proof::forward::Answer<::moin_session_spec::Response>> { self.$f.request_batch(requests) }
    };
    (@cleanup $f:tt) => {
        fn cleanup(&mut self, request: &::moin_session_spec::CleanupRequest) -> $crate::proof::forward::Answer<::moin_session_spec::CleanupOutcome> { self.$f.cleanup(request) }
    };
    (@list $f:tt) => {
        fn list(&mut self) -> $crate::proof::forward::Answer<Vec<String>> { self.$f.list() }
    };
    (@loads_configuration $f:tt) => {
        fn loads_configuration(&self) -> bool { self.$f.loads_configuration() }
    };
    (@interleaves $f:tt) => {
        fn interleaves(&self) -> bool { self.$f.interleaves() }
    };
    (@capabilities $f:tt) => {
        fn capabilities(&self) -> ::moin_session_spec::Capabilities { self.$f.capabilities() }
    };
    (@open $f:tt) => {
        fn open(&mut self, handle: &str, request: &::moin_session_spec::Request) -> $crate::proof::forward::Answer<::moin_session_spec::Opened> { self.$f.open(handle, request) }
    };
    (@ops $f:tt) => {
        fn ops(&mut self, handle: &str, ops: &[::moin_session_spec::Op]) -> $crate::proof::forward::Answer<Vec<::serde_json::Value>> { self.$f.ops(handle, ops) }
    };
    (@finish $f:tt) => {
        fn finish(&mut self, handle: &str, now: ::time::OffsetDateTime) -> $crate::proof::forward::Answer<::moin_session_spec::Finished> { self.$f.finish(handle, now) }
    };
    (@end_run $f:tt) => {
        fn end_run(&mut self) -> $crate::proof::forward::Answer<()> { self.$f.end_run() }
    };
    (@corrupt $f:tt) => {
        fn corrupt(&mut self, sid: &str) -> $crate::proof::forward::Answer<()> { self.$f.corrupt(sid) }
    };
}

#[doc(hidden)]
pub use moin_session_spec::store::{Change, Loaded, OnConflict, Record, StoreError, Updated};

/// A backend call's result (used by
/// [`forward_backend_calls!`](crate::forward_backend_calls)).
pub type Answer<T> = std::result::Result<T, moin_session_spec::BackendError>;

/// A store call's result (used by [`forward_store_calls!`](crate::forward_store_calls)).
pub type Result<T> = std::result::Result<T, StoreError>;

/// The decision an atomic update commits (the argument of
/// [`Store::update`](moin_session_spec::store::Store::update)).
pub type Decide<'a> = &'a mut dyn FnMut(Option<&Loaded>) -> Change;
