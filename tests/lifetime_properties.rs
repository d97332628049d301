//! Properties of the lifetime rules (`m19.lifetime.*`).

use moin_session_spec::lifetime::{hours_to_secs, session_lifetime_secs, FOREVER_SECS};
use moin_session_spec::MAX_LIFETIME_HOURS;
use proptest::prelude::*;

fn hours() -> impl Strategy<Value = f64> {
    prop_oneof![
        -MAX_LIFETIME_HOURS..MAX_LIFETIME_HOURS,
        -2.0f64..2.0,
        Just(0.0),
        Just(1.0 / 3600.0),
        (-100i32..100).prop_map(f64::from),
    ]
}

proptest! {
    /// r[m19.lifetime.remember-me-forever]: remember_me never shortens a
    /// lifetime of up to ten years...
    #[test]
    fn remember_me_never_shortens(h in hours(), valid: bool) {
        prop_assume!(hours_to_secs(h).abs() <= FOREVER_SECS);
        prop_assert!(session_lifetime_secs(h, valid, true) >= session_lifetime_secs(h, valid, false));
    }

    /// ...and caps a longer one at ten years (the quirk the spec keeps).
    #[test]
    fn remember_me_caps_longer_lifetimes(h in 87_600.01f64..MAX_LIFETIME_HOURS) {
        prop_assert_eq!(session_lifetime_secs(h, true, true), FOREVER_SECS);
        prop_assert!(session_lifetime_secs(h, true, false) > FOREVER_SECS);
    }

    /// Forever exactly when the user is valid, remember_me is set and the seconds are positive.
    #[test]
    fn forever_exactly_when(h in hours(), valid: bool, remember_me: bool) {
        let forever = session_lifetime_secs(h, valid, remember_me) == FOREVER_SECS;
        let expected = valid && remember_me && hours_to_secs(h) > 0;
        // A configured lifetime of exactly ten years is also FOREVER_SECS seconds.
        if hours_to_secs(h).abs() != FOREVER_SECS {
            prop_assert_eq!(forever, expected);
        } else {
            prop_assert!(forever);
        }
    }

    /// r[m19.lifetime.anon-zero-disables], r[m19.lifetime.logged-in-zero-disables],
    /// r[m19.lifetime.truncation]: less than one second of hours disables sessions.
    #[test]
    fn under_a_second_disables(h in -0.000277f64..0.000277, valid: bool, remember_me: bool) {
        prop_assert_eq!(session_lifetime_secs(h, valid, remember_me), 0);
    }

    /// r[m19.lifetime.seconds], r[m19.lifetime.negative-ignores-remember-me]:
    /// otherwise the lifetime is |trunc(h * 3600)|.
    #[test]
    fn truncated_absolute_seconds(h in hours(), valid: bool, remember_me: bool) {
        let secs = session_lifetime_secs(h, valid, remember_me);
        if secs != FOREVER_SECS || hours_to_secs(h).abs() == FOREVER_SECS {
            let exact = (h * 3600.0).trunc().abs();
            prop_assert_eq!(secs as f64, exact);
        }
        prop_assert!(secs >= 0);
        if h < 0.0 {
            prop_assert_eq!(secs, session_lifetime_secs(h, valid, false));
        }
    }
}
