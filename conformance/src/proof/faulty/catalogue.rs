//! The seeded faults: each a plausible one-rule mistake a backend author
//! could make, named, with the profiles it applies to and the rule family
//! (the requirement area) it breaks.

use std::fmt;
use std::str::FromStr;

use moin_session_spec::Profile;

const BOTH: &[Profile] = &[Profile::Moin16, Profile::Moin19];
const M19: &[Profile] = &[Profile::Moin19];
const M16: &[Profile] = &[Profile::Moin16];
const HARD: &[Profile] = &[Profile::Hardened];
const M19_HARD: &[Profile] = &[Profile::Moin19, Profile::Hardened];
const ALL: &[Profile] = &[Profile::Moin16, Profile::Moin19, Profile::Hardened];

macro_rules! faults {
    ($( $variant:ident = $name:literal, $profiles:expr, $family:literal, $doc:literal; )*) => {
        /// One deliberate fault.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault {
            $( #[doc = $doc] $variant, )*
        }

        impl Fault {
            /// Every fault, by name.
            pub const ALL: &'static [(&'static str, Fault)] = &[ $( ($name, Fault::$variant), )* ];

            /// The profiles the fault applies to (a backend of another
            /// profile is unchanged by it).
            pub fn profiles(self) -> &'static [Profile] {
                match self { $( Fault::$variant => $profiles, )* }
            }

            /// The rule family it breaks: the requirement area, e.g.
            /// `cookie` or `lifetime`.
            pub fn family(self) -> &'static str {
                match self { $( Fault::$variant => $family, )* }
            }

            /// What the fault does, in one line.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $doc.trim(), )* }
            }
        }
    };
}

faults! {
    MaxAgePlusOne = "max-age-plus-one", BOTH, "cookie", " Every issued cookie's Max-Age is one second too long.";
    ExpiresNotFloored = "expires-not-floored", M19, "cookie", " Expires is now plus Max-Age, not floored to the minute.";
    ExpiresFloorHour = "expires-floor-hour", M19, "cookie", " Expires is floored to the hour instead of the minute.";
    ExpiresRoundedSecond = "expires-rounded-second", M16, "cookie", " Expires rounds now to the nearest second instead of dropping the fraction.";
    DeletionKeepsValue = "deletion-keeps-value", ALL, "cookie", " The deletion cookie carries a value.";
    DeletionWithoutExpires = "deletion-without-expires", BOTH, "cookie", " The deletion cookie has no Expires.";
    DeletionWithoutMaxAge = "deletion-without-max-age", BOTH, "cookie", " The deletion cookie has no Max-Age (only an Expires in the past).";
    DeletionSecure = "deletion-secure", M19, "cookie", " The deletion cookie carries Secure.";
    PathAlwaysRoot = "path-always-root", BOTH, "cookie", " Every cookie has Path=/ whatever the configuration.";
    NoDomain = "no-domain", BOTH, "cookie", " No cookie carries Domain.";
    SecureNever = "secure-never", M19_HARD, "cookie", " Issued cookies never carry Secure.";
    SecureAlways = "secure-always", BOTH, "cookie", " Issued cookies always carry Secure.";
    HttpOnlyAlways = "httponly-always", BOTH, "cookie", " Issued cookies always carry HttpOnly.";
    HttpOnlyNever = "httponly-never", M19_HARD, "cookie", " Issued cookies never carry HttpOnly.";
    Cacheable = "cacheable", M16, "cookie", " Responses are never marked uncacheable.";
    NameSuffix = "name-suffix", BOTH, "name", " The cookie name gets a stray suffix.";
    NeverNew = "never-new", BOTH, "new", " The `new` flag is always false.";
    NoDeletion = "no-deletion", BOTH, "finalize", " Deletion cookies are never sent.";
    DuplicateCookie = "duplicate-cookie", BOTH, "finalize", " Every Set-Cookie is sent twice.";
    DeletionWhenNew = "deletion-when-new", M19, "finalize", " A new session that gets no cookie gets a deletion anyway.";
    NowFlooredToSecond = "now-floored-to-second", BOTH, "clock", " The backend drops the fraction of every instant.";
    ClockOneSecondLate = "clock-one-second-late", BOTH, "clock", " The backend's clock runs one second ahead of the one it is given.";
    IdleCapOneYear = "idle-cap-one-year", BOTH, "clock", " A session idle for more than 365 days of virtual time vanishes.";
    WallClockExpiry = "wall-clock-expiry", BOTH, "clock", " A session unused for 2 seconds of real time vanishes.";
    EvictsBeyond500 = "evicts-beyond-500", BOTH, "store", " Beyond 500 sessions the least recently used one vanishes.";
    SidCaseInsensitive = "sid-case-insensitive", M19_HARD, "load", " Sids with uppercase hex digits are accepted (lowercased).";
    SidTrimmedTo40 = "sid-trimmed-to-40", M19_HARD, "load", " A sid longer than 40 characters is cut to its first 40.";
    SidPrefixMatch = "sid-prefix-match", HARD, "load", " A value that is the beginning of an issued sid (8 characters or more) loads that session.";
    SidUnquoted = "sid-unquoted", HARD, "load", " A session cookie value in double quotes is unquoted before load, as Python's and werkzeug's cookie parsers do, so `\"<sid>\"` loads the session of <sid>.";
    LastCookieWins = "last-cookie-wins", M19, "load", " Of several session cookies, the last is used.";
    RefusesUnknownSid = "refuses-unknown-sid", M19, "load", " A well-formed sid the backend never issued is refused (a fresh session), as the hardened profile does: in moin-1.9 a deliberate departure from m19.load.unknown-sid-adopted.";
    LoginStoresExpires = "login-stores-expires", M19, "persist", " A new session's login is stored with expires at once (a wrong stored field, seen only by a later cleanup or load).";
    ExpiresDropped = "expires-dropped", M19, "persist", " The store drops expires from every record it saves (a wrong stored field, seen only by a later cleanup or load).";
    RememberMeIgnored = "remember-me-ignored", BOTH, "lifetime", " Logins never set remember_me.";
    RememberMeAlways = "remember-me-always", BOTH, "lifetime", " Logins always set remember_me.";
    NegativeDisables = "negative-disables", M19, "lifetime", " A negative logged-in lifetime disables logged-in sessions.";
    NegativeHonoursRememberMe = "negative-honours-remember-me", BOTH, "lifetime", " A negative lifetime is used as positive, so remember_me gives forever.";
    AnonZeroEnables = "anon-zero-enables", M19, "lifetime", " An anonymous lifetime of 0 gives one hour.";
    LifetimeRounded = "lifetime-rounded", M19, "lifetime", " Lifetimes in seconds are rounded, not truncated.";
    DefaultLifetime24h = "default-lifetime-24h", BOTH, "config", " The default logged-in lifetime is 24 hours, not 12.";
    AnonLifetimeWholeHours = "anon-lifetime-whole-hours", M16, "lifetime", " The anonymous lifetime drops its fraction of an hour.";
    ZeroNotForever = "zero-not-forever", M16, "lifetime", " cookie_lifetime 0 gives 12 hours instead of forever.";
    AnonLeaseFromLoginLifetime = "anon-lease-from-login-lifetime", M16, "lifetime", " Anonymous sessions get the logged-in lifetime (and so its lease).";
    AnonNotRefreshed = "anon-not-refreshed", M16, "session", " An anonymous cookie is not issued again when it comes back.";
    AnonSessionOff = "anon-session-off", M16, "anon", " moin_anon_session never issues a name.";
    LogoutIgnored = "logout-ignored", ALL, "auth", " Logouts are ignored.";
    FailedLoginSucceeds = "failed-login-succeeds", BOTH, "auth", " A login with a wrong password succeeds.";
    DisabledAccountsEnabled = "disabled-accounts-enabled", ALL, "auth", " Disabled accounts work like enabled ones.";
    AuthMethodKept = "auth-method-kept", M19, "auth", " A stored login survives the removal of its method from auth.";
    ChangeUserIgnored = "change-user-ignored", M19_HARD, "setuid", " Change user does nothing.";
    EveryoneSuperuser = "everyone-superuser", M19, "setuid", " Every account may change user.";
    DeleteIgnored = "delete-ignored", BOTH, "persist", " Deleting a key does nothing.";
    ValuesStringified = "values-stringified", BOTH, "persist", " Numbers read back come back as strings.";
    MacroOffByOne = "macro-off-by-one", BOTH, "macro", " The example macro's random number is off by one.";
    LazyCleanup = "lazy-cleanup", BOTH, "cleanup", " Cleanup reports nothing removed and removes nothing.";
    CleanupSilent = "cleanup-silent", BOTH, "cleanup", " Cleanup removes what it should but reports nothing.";
    CleanupInclusive = "cleanup-inclusive", BOTH, "cleanup", " Cleanup also removes a record whose expires is now.";
    CleanupAllIsExpired = "cleanup-all-is-expired", BOTH, "cleanup", " Cleanup --all removes only expired records.";
    CleanupIgnoresUser = "cleanup-ignores-user", M19, "cleanup", " Cleanup --name removes records of every user.";
    ListDropsOne = "list-drops-one", BOTH, "store", " Listing leaves out one record.";
    ListDuplicates = "list-duplicates", BOTH, "store", " Listing names every record twice.";
    SameSiteDropped = "samesite-dropped", HARD, "cookie", " Issued cookies carry no SameSite.";
    StrictAsLax = "strict-as-lax", HARD, "cookie", " cookie_samesite Strict still gives SameSite=Lax.";
    DeletionNotSecure = "deletion-not-secure", HARD, "cookie", " The deletion cookie drops Secure, so a browser keeps the Secure session cookie.";
    MaxAgeUnbounded = "max-age-unbounded", HARD, "cookie", " Max-Age is the idle lifetime, ignoring the absolute deadline (promises more than the server keeps).";
    NoAbsoluteTimeout = "no-absolute-timeout", HARD, "timeout", " The absolute timeout is not enforced (taken as 100 years).";
    HeaderLimitIgnored = "header-limit-ignored", HARD, "load", " A Cookie header of any size is read.";
    SilentOnRefusedSid = "silent-on-refused-sid", HARD, "finalize", " A refused or expired sid is not deleted from the browser.";
    EndOthersIgnored = "end-others-ignored", HARD, "end", " \"End other sessions\" does nothing.";
    EndOthersByEffectiveUser = "end-others-by-effective-user", HARD, "end", " \"End other sessions\" also ends other sessions that act as the user under a change user (it compares effective users).";
    HeaderLimitChars = "header-limit-chars", HARD, "load", " The Cookie header limit counts characters, not bytes.";
    DeletionFutureExpires = "deletion-future-expires", HARD, "cookie", " The hardened deletion's Expires lies a year in the future, so it deletes nothing.";
    DeletionWithMaxAge = "deletion-with-max-age", HARD, "cookie", " The hardened deletion carries Max-Age=0, the moin-1.9 form, outside the server grammar of RFC 6265bis.";
    DeadlineSidMaxAgeZero = "deadline-sid-max-age-zero", HARD, "timeout", " At the absolute deadline the sid is sent again with Max-Age=0 instead of a deletion.";
    AnonSecondsRounded = "anon-seconds-rounded", M16, "lifetime", " The anonymous lifetime in seconds is rounded, not truncated (3.6 s gives 4).";
    ExpiresTwoDigitYear = "expires-two-digit-year", M16, "cookie", " Expires always has a two-digit year, as b49a8d6c writes it.";
    ExpiresYearZeroPadded = "expires-year-zero-padded", M16, "cookie", " Expires writes the year's last two digits padded to four (`0055` for 2055), which RFC 6265bis reads right and fixed-format parsers as the year 55.";
    DeleteAbsentIsAWrite = "delete-absent-is-a-write", ALL, "persist", " Deleting a key the session does not hold counts as a write (a change that is stored).";
    CleanupUnknownUserSweeps = "cleanup-unknown-user-sweeps", M19_HARD, "cleanup", " A cleanup by a user without an account runs as one without --name.";
    FinishInOpenOrder = "finish-in-open-order", ALL, "overlap", " Open requests finish in the order they were opened: finishing one first finishes every request opened before it.";
    WritesAtFinish = "writes-at-finish", M16, "overlap", " The writes of an open request reach the store at its finish, not when they are made.";
}

impl Fault {
    /// Whether the fault is in the store, not around the backend: such a
    /// fault needs the reference services over a faulty store
    /// ([`super::FaultyStore`]); wrapping a backend leaves it unchanged.
    pub fn at_store(self) -> bool {
        matches!(self, Fault::ExpiresDropped)
    }

    /// The clause a fault that stores a wrong field breaks, which every
    /// case it fails must blame first (the self-test checks this).
    pub fn writing_clause(self) -> Option<&'static str> {
        match self {
            Fault::LoginStoresExpires => Some("m19.persist.login-without-expires"),
            Fault::ExpiresDropped => Some("m19.persist.expires-recorded"),
            _ => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Fault::ALL
            .iter()
            .find(|(_, x)| x == self)
            .map(|(n, _)| *n)
            .expect("every fault has a name");
        f.write_str(name)
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Fault::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown fault {s:?} (known: {})", names.join(", "))
            })
    }
}
