//! The proof of strength: backends with one seeded fault each
//! ([`faulty`]), the [`selftest`] that runs every one of them against the
//! corpus and random traces and fails when one is not caught, and the
//! [`soak`], which keeps a backend busy with random traces on the wall
//! clock for a while; [`forward`] writes the calls a store wrapper
//! passes on unchanged.

pub mod faulty;
pub mod forward;
pub mod selftest;
pub mod soak;
