//! The record the file-store fault tests write and check, shared by the
//! test (`tests/store_faults.rs`) and its helper process
//! (`tools/store_torture.rs`) so that both always agree on its shape.

use moin_session_spec::store::{Loaded, Record};
use serde_json::Value;

/// A record that says who wrote it and can tell when it is not whole: its
/// `check` field repeats the writer, the sequence number and the length of
/// a padding whose length depends on the sequence number.
pub fn record(writer: &str, seq: u64) -> Record {
    let pad = "p".repeat((seq % 1500) as usize * 7);
    Record::from([
        ("writer".to_owned(), Value::from(writer)),
        ("seq".to_owned(), Value::from(seq)),
        (
            "check".to_owned(),
            Value::from(format!("{writer}:{seq}:{}", pad.len())),
        ),
        ("pad".to_owned(), Value::from(pad)),
    ])
}

/// Whether a loaded record is one that [`record`] made, whole.
pub fn whole(loaded: &Loaded) -> bool {
    let Loaded::Record(r) = loaded else {
        return false;
    };
    let (Some(w), Some(s), Some(p), Some(c)) = (
        r.get("writer").and_then(Value::as_str),
        r.get("seq").and_then(Value::as_u64),
        r.get("pad").and_then(Value::as_str),
        r.get("check").and_then(Value::as_str),
    ) else {
        return false;
    };
    r.len() == 4 && c == format!("{w}:{s}:{}", p.len()) && p.len() == (s % 1500) as usize * 7
}
